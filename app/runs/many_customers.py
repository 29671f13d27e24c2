"""Several customers now, set-based: `reclassify_customer`'s semantics for a batch.

Inbound webhooks reclassify a few dozen customers at a time (app/webhooks/reclassify.py).
Doing them one by one costs a dozen statements and a reading of the published rules per
customer; here a batch costs a fixed handful: the rules come from the process' cache
(app/runs/published.py), the values of every customer of the batch from one statement,
their assignments in every tree from one locking read, and the changes are written with
one statement per kind of row (assignments moved, removed, inserted; history, outbox,
audit), Core statements with no ORM object per row. The rules are evaluated in Python, as
for one customer.

What is applied is what `reclassify_customer` applies (app/runs/one_customer.py shares
`change_in_tree` with this module): a locked assignment is never changed; every change
gets a history row with the source and the reason given, and an outbox event
`customer.classification_changed`; each tree whose category changed gets an audit event.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import audit_row, record_events
from app.core.auth import Principal
from app.facts.today import tenant_today
from app.facts.values import customer_values
from app.models import Assignment, AssignmentHistory, Category, Customer, OutboxEvent, table_of
from app.rules.language.evaluate import Evaluation
from app.runs.one_customer import TreeChange, category_ref, change_in_tree, deciding_rule
from app.runs.published import PublishedTree, published_rules

A = table_of(Assignment)
H = table_of(AssignmentHistory)
OUTBOX = table_of(OutboxEvent)


@dataclass(frozen=True)
class CustomerDone:
    """What reclassifying did for one customer of the batch: None when no such customer
    exists (any more), else the number of trees whose category changed."""

    changed_trees: int | None


@dataclass
class _Pending:
    """One customer's change in one tree, waiting to be written."""

    tree: PublishedTree
    customer: Any  # the customer's (id, code) row
    evaluation: Evaluation
    change: TreeChange
    reason: str | None
    request_id: str | None
    records: list[tuple[Category | None, Category | None]] = field(default_factory=list)


async def reclassify_many(
    session: AsyncSession,
    principal: Principal,
    customer_ids: list[uuid.UUID],
    *,
    source: str,
    reasons: Mapping[uuid.UUID, str | None],
    request_ids: Mapping[uuid.UUID, str] | None = None,
    as_of: date | None = None,
) -> dict[uuid.UUID, CustomerDone]:
    """Evaluate each customer in every tree with a published ruleset and apply the
    categories that changed, in the caller's transaction. `reasons` gives each
    customer's history reason, `request_ids` the correlation id of its audit events."""
    tenant_id = principal.tenant_id
    ids = sorted(set(customer_ids))
    found = {
        row.id: row
        for row in await session.execute(
            select(Customer.id, Customer.code).where(
                Customer.tenant_id == tenant_id, Customer.id.in_(ids)
            )
        )
    }
    done = {c: CustomerDone(None if c not in found else 0) for c in ids}
    day = as_of or tenant_today(principal)
    published = await published_rules(session, principal, day)
    if not found or not published.trees:
        return done
    present = sorted(found)
    values = await customer_values(session, tenant_id, present, day, published.catalog)
    held = await _held(session, tenant_id, present, [t.item.tree.id for t in published.trees])
    pending: list[_Pending] = []
    for customer_id in present:
        for tree in published.trees:
            item = tree.item
            evaluation = tree.evaluator.evaluate(values[customer_id], day)
            by_code = {c.code: c for c in item.categories}
            targets = [by_code[code] for code in evaluation.categories]
            change = change_in_tree(item, held.get((customer_id, item.tree.id), []), targets)
            if change.changed:
                pending.append(
                    _Pending(
                        tree,
                        found[customer_id],
                        evaluation,
                        change,
                        reasons.get(customer_id),
                        (request_ids or {}).get(customer_id),
                    )
                )
    if not pending:
        return done
    await _write(session, principal, source, day, pending)
    changed: dict[uuid.UUID, int] = {}
    for write in pending:
        changed[write.customer.id] = changed.get(write.customer.id, 0) + 1
    return done | {c: CustomerDone(n) for c, n in changed.items()}


async def _held(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    customer_ids: list[uuid.UUID],
    tree_ids: list[uuid.UUID],
) -> dict[tuple[uuid.UUID, uuid.UUID], list[Assignment]]:
    """The customers' assignments in the trees, locked (in customer, tree, category
    order), by (customer, tree)."""
    rows = await session.scalars(
        select(Assignment)
        .where(
            Assignment.tenant_id == tenant_id,
            Assignment.customer_id.in_(customer_ids),
            Assignment.tree_id.in_(tree_ids),
        )
        .order_by(Assignment.customer_id, Assignment.tree_id, Assignment.category_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    held: dict[tuple[uuid.UUID, uuid.UUID], list[Assignment]] = {}
    for row in rows:
        held.setdefault((row.customer_id, row.tree_id), []).append(row)
    return held


async def _write(
    session: AsyncSession, principal: Principal, source: str, day: date, pending: list[_Pending]
) -> None:
    """Write every pending change: moves in one statement, removals in one, insertions in
    one (an insertion someone made a moment ago is skipped, as for one customer); then
    the history, outbox and audit rows of what was written, one statement each."""
    moves, inserts, removals = [], [], []
    for write in pending:
        item, change = write.tree.item, write.change
        by_id = {c.id: c for c in item.categories}
        if not item.tree.multi_assign:
            target = change.add[0]
            if change.replace is None:
                inserts.append((write, target))
            else:
                previous = by_id.get(change.replace.category_id) or await session.get(
                    Category, change.replace.category_id
                )
                moves.append(
                    {"b_id": change.replace.id, "b_category": target.id, "b_reason": write.reason}
                )
                write.records.append((previous, target))
        else:
            for row in change.remove:
                old = by_id.get(row.category_id) or await session.get(Category, row.category_id)
                removals.append(row.id)
                write.records.append((old, None))
            inserts += [(write, category) for category in change.add]
    if moves:
        await session.execute(
            update(A)
            .where(A.c.id == bindparam("b_id"))
            .values(
                category_id=bindparam("b_category"),
                source=source,
                reason=bindparam("b_reason"),
                run_id=None,
                assigned_by=principal.actor,
                assigned_at=func.now(),
                updated_at=func.now(),
                version=A.c.version + 1,
            ),
            moves,
        )
    if removals:
        await session.execute(delete(A).where(A.c.id.in_(removals)))
    if inserts:
        made = await session.execute(
            pg_insert(A)
            .on_conflict_do_nothing()
            .returning(A.c.tree_id, A.c.customer_id, A.c.category_id),
            [
                {
                    "tenant_id": principal.tenant_id,
                    "tree_id": write.tree.item.tree.id,
                    "customer_id": write.customer.id,
                    "category_id": category.id,
                    "multi": write.tree.item.tree.multi_assign,
                    "source": source,
                    "locked": False,
                    "reason": write.reason,
                    "assigned_by": principal.actor,
                }
                for write, category in inserts
            ],
        )
        inserted = {tuple(row) for row in made}
        for write, category in inserts:
            if (write.tree.item.tree.id, write.customer.id, category.id) in inserted:
                write.records.append((None, category))
    history, outbox, audit = [], [], []
    for write in pending:
        for old, new in write.records:
            rows = _records(principal, source, day, write, old, new)
            history.append(rows[0])
            outbox.append(rows[1])
        audit.append(
            audit_row(
                principal,
                entity_type="assignment",
                entity_id=write.customer.id,
                action="reclassify",
                after={
                    "tree_id": str(write.tree.item.tree.id),
                    "source": source,
                    "categories": [c.code for c in write.change.add],
                },
                request_id=write.request_id,
            )
        )
    if history:
        await session.execute(insert(H), history)
        await session.execute(insert(OUTBOX), outbox)
    await record_events(session, audit)


def _records(
    principal: Principal,
    source: str,
    day: date,
    write: _Pending,
    old: Category | None,
    new: Category | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The history row and the outbox event of one change (as `reclassify_customer`)."""
    rule = deciding_rule(write.tree.item, write.evaluation, new)
    key = rule.key if rule is not None else None
    tree_id = write.tree.item.tree.id
    history = {
        "tenant_id": principal.tenant_id,
        "tree_id": tree_id,
        "customer_id": write.customer.id,
        "from_category_id": old.id if old else None,
        "from_code": old.code if old else None,
        "from_name": old.name if old else None,
        "to_category_id": new.id if new else None,
        "to_code": new.code if new else None,
        "to_name": new.name if new else None,
        "source": source,
        "rule_key": key,
        "actor": principal.actor,
        "reason": write.reason,
    }
    outbox = {
        "tenant_id": principal.tenant_id,
        "event_type": "customer.classification_changed",
        "payload": {
            "customer_id": str(write.customer.id),
            "customer_code": write.customer.code,
            "tree_id": str(tree_id),
            "from": category_ref(old),
            "to": category_ref(new),
            "rule_key": key,
            "run_id": None,
            "as_of": day.isoformat(),
            "source": source,
        },
    }
    return history, outbox
