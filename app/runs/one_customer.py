"""One customer now: reclassify with the Python back end and apply as a run would, and the
customer's current classification per tree with its rationale.

Reclassifying is the path inbound webhooks take for a new order: values computed for the
one customer, each published ruleset evaluated in Python, and the change applied with a
run's semantics — a locked assignment is reported, never changed; every change gets a
history row and an outbox event — synchronously, in the caller's transaction.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import record_event
from app.catalog import FieldCatalog
from app.core.auth import Principal
from app.core.i18n import Text, current_locale
from app.customers.service import get_customer
from app.facts.fields import tenant_catalog
from app.facts.today import tenant_today
from app.facts.values import customer_values
from app.models import (
    Assignment,
    AssignmentHistory,
    Category,
    Customer,
    OutboxEvent,
    Run,
    RunResult,
)
from app.rules.language.evaluate import Evaluation, Evaluator
from app.rules.language.explain import Rationale, explain
from app.rules.language.tree import iter_leaves
from app.runs.plan import RunPlan, load_plan
from app.runs.results import CategoryView, RenderedResult, render_result
from app.runs.service import TreeToRun, trees_with_published_rules


@dataclass(frozen=True)
class Reclassified:
    """What reclassifying did in one tree (or would do, in a dry run)."""

    result: RenderedResult
    applied: bool


async def reclassify_customer(
    session: AsyncSession,
    principal: Principal,
    customer_id: uuid.UUID,
    *,
    tree_ids: list[uuid.UUID] | None = None,
    as_of: date | None = None,
    dry_run: bool = False,
    source: str = "manual_reclassify",
    reason: str | None = None,
) -> list[Reclassified]:
    """Evaluate the customer in each tree (default: every tree with a published ruleset)
    and, unless `dry_run`, apply the categories that changed."""
    customer = await get_customer(session, principal, customer_id)
    catalog = await tenant_catalog(session, principal.tenant_id)
    trees = await trees_with_published_rules(session, principal, tree_ids, catalog)
    day = as_of or tenant_today(principal)
    values = (await customer_values(session, principal.tenant_id, [customer.id], day, catalog))[
        customer.id
    ]
    done = []
    for item in trees:
        evaluation = Evaluator(item.rules, catalog).evaluate(values, day)
        by_code = {c.code: c for c in item.categories}
        target = by_code[evaluation.category]
        current = await _current(session, principal.tenant_id, item, customer.id)
        changed = current is None or current.category_id != target.id
        conflict = changed and current is not None and current.locked
        previous = None
        if current is not None:
            previous = next(c for c in item.categories if c.id == current.category_id)
        applied = False
        if changed and not conflict and not dry_run:
            await _apply(session, principal, item, customer, current, target, evaluation,
                         source, reason, day)  # fmt: skip
            applied = True
        done.append(
            Reclassified(
                _result(item, customer, evaluation, catalog, target, previous, values,
                        changed and not conflict, conflict),
                applied,
            )
        )  # fmt: skip
    return done


async def _current(
    session: AsyncSession, tenant_id: uuid.UUID, item: TreeToRun, customer_id: uuid.UUID
) -> Assignment | None:
    return await session.scalar(
        select(Assignment)
        .where(
            Assignment.tenant_id == tenant_id,
            Assignment.tree_id == item.tree.id,
            Assignment.customer_id == customer_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _apply(
    session: AsyncSession,
    principal: Principal,
    item: TreeToRun,
    customer: Customer,
    current: Assignment | None,
    target: Category,
    evaluation: Evaluation,
    source: str,
    reason: str | None,
    day: date,
) -> None:
    previous: Category | None = None
    if current is None:
        inserted = await session.scalar(
            pg_insert(Assignment)
            .values(
                tenant_id=principal.tenant_id, tree_id=item.tree.id, customer_id=customer.id,
                category_id=target.id, multi=False, source=source, locked=False,
                reason=reason, assigned_by=principal.actor,
            )
            .on_conflict_do_nothing(
                index_elements=["tenant_id", "tree_id", "customer_id"],
                index_where=~Assignment.multi,
            )
            .returning(Assignment.id)
        )  # fmt: skip
        if inserted is None:  # someone else classified the customer a moment ago
            return
    else:
        previous = await session.get(Category, current.category_id)
        current.category_id = target.id
        current.source = source
        current.reason = reason
        current.run_id = None
        current.assigned_by = principal.actor
        current.assigned_at = func.now()  # type: ignore[assignment]  # set at flush
        current.version += 1
    rule = evaluation.rule
    session.add(
        AssignmentHistory(
            tenant_id=principal.tenant_id, tree_id=item.tree.id, customer_id=customer.id,
            from_category_id=previous.id if previous else None,
            from_code=previous.code if previous else None,
            from_name=previous.name if previous else None,
            to_category_id=target.id, to_code=target.code, to_name=target.name,
            source=source, rule_key=rule.key if rule else None, actor=principal.actor,
            reason=reason,
        )
    )  # fmt: skip
    session.add(
        OutboxEvent(
            tenant_id=principal.tenant_id,
            event_type="customer.classification_changed",
            payload={
                "customer_id": str(customer.id), "customer_code": customer.code,
                "tree_id": str(item.tree.id),
                "from": _ref(previous), "to": _ref(target),
                "rule_key": rule.key if rule else None, "run_id": None,
                "as_of": day.isoformat(), "source": source,
            },
        )
    )  # fmt: skip
    await session.flush()
    record_event(
        session, principal, entity_type="assignment", entity_id=customer.id,
        action="reclassify",
        after={"tree_id": str(item.tree.id), "category": target.code, "source": source},
    )  # fmt: skip


def _ref(category: Category | None) -> dict[str, Any] | None:
    if category is None:
        return None
    return {"id": str(category.id), "code": category.code, "name": category.name}


def _view(item: TreeToRun, category: Category) -> CategoryView:
    codes = {c.id: c.code for c in item.categories}
    return CategoryView(
        category.id, category.code, category.name, [codes[i] for i in category.path]
    )


def _result(
    item: TreeToRun,
    customer: Customer,
    evaluation: Evaluation,
    catalog: FieldCatalog,
    target: Category,
    previous: Category | None,
    values: dict[str, Any],
    changed: bool,
    conflict: bool,
) -> RenderedResult:
    fields = {leaf.field for rule in item.rules.rules for leaf in iter_leaves(rule.when)}
    return RenderedResult(
        customer_id=customer.id,
        customer_code=customer.code,
        customer_name=customer.name,
        tree_id=item.tree.id,
        category=_view(item, target),
        previous_category=_view(item, previous) if previous is not None else None,
        changed=changed,
        rule=evaluation.rule,
        rationale=explain(evaluation, catalog, current_locale.get()),
        metrics={key: values.get(key) for key in sorted(fields)},
        borderline=evaluation.borderline,
        locked_conflict=conflict,
    )


@dataclass(frozen=True)
class Classification:
    """A customer's current category in one tree, why, and by whom."""

    result: RenderedResult
    source: str
    locked: bool
    reason: str | None
    assigned_by: str
    assigned_at: datetime
    run_id: uuid.UUID | None
    rules_today: RenderedResult | None  # for a category not set by a run


async def customer_classifications(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID
) -> list[Classification]:
    """Per tree the customer is classified in: the category; for one a run set, that
    run's result and rationale; for one set otherwise, who set it and why, and what the
    published rules say today."""
    customer = await get_customer(session, principal, customer_id)
    assignments = list(
        await session.scalars(
            select(Assignment)
            .where(
                Assignment.tenant_id == principal.tenant_id, Assignment.customer_id == customer.id
            )
            .order_by(Assignment.tree_id)
        )
    )
    catalog = await tenant_catalog(session, principal.tenant_id)
    published = {t.tree.id: t for t in await trees_with_published_rules(
        session, principal, None, catalog, required=False)}  # fmt: skip
    today = tenant_today(principal)
    values: dict[str, Any] | None = None
    plans: dict[uuid.UUID, RunPlan | None] = {}
    found = []
    for assignment in assignments:
        from_run = None
        if assignment.source == "run" and assignment.run_id is not None:
            from_run = await _run_result(session, principal, plans, assignment, customer)
        rules_today = None
        item = published.get(assignment.tree_id)
        if from_run is None and item is not None:
            if values is None:
                values = (await customer_values(session, principal.tenant_id, [customer.id],
                                                today, catalog))[customer.id]  # fmt: skip
            evaluation = Evaluator(item.rules, catalog).evaluate(values, today)
            target = {c.code: c for c in item.categories}[evaluation.category]
            rules_today = _result(
                item,
                customer,
                evaluation,
                catalog,
                target,
                None,
                values,
                target.id != assignment.category_id,
                assignment.locked and target.id != assignment.category_id,
            )
        if from_run is None and rules_today is None:
            continue  # a tree without published rules says nothing about why
        held = await _held(session, assignment, item)
        base = from_run or _manual(rules_today, held, assignment)  # type: ignore[arg-type]
        found.append(
            Classification(
                base, assignment.source, assignment.locked, assignment.reason,
                assignment.assigned_by, assignment.assigned_at, assignment.run_id, rules_today,
            )
        )  # fmt: skip
    return found


async def _held(
    session: AsyncSession, assignment: Assignment, item: TreeToRun | None
) -> CategoryView:
    category = await session.get(Category, assignment.category_id)
    assert category is not None  # an assignment's category cannot be deleted under it
    if item is not None:
        return _view(item, category)
    return CategoryView(category.id, category.code, category.name, [category.code])


def _manual(
    rules_today: RenderedResult, held: CategoryView, assignment: Assignment
) -> RenderedResult:
    text = Text(
        f"人工指定({assignment.assigned_by}){':' + assignment.reason if assignment.reason else ''}",
        f"Set by hand ({assignment.assigned_by})"
        + (f": {assignment.reason}" if assignment.reason else ""),
    ).get()
    return RenderedResult(
        customer_id=rules_today.customer_id,
        customer_code=rules_today.customer_code,
        customer_name=rules_today.customer_name,
        tree_id=rules_today.tree_id,
        category=held,
        previous_category=None,
        changed=False,
        rule=None,
        rationale=Rationale(rule=None, text=text, conditions=[], why_not=[], borderline=False),
        metrics=rules_today.metrics,
        borderline=False,
        locked_conflict=rules_today.locked_conflict,
    )


async def _run_result(
    session: AsyncSession,
    principal: Principal,
    plans: dict[uuid.UUID, RunPlan | None],
    assignment: Assignment,
    customer: Customer,
) -> RenderedResult | None:
    run_id = assignment.run_id
    assert run_id is not None
    if run_id not in plans:
        run = await session.scalar(
            select(Run).where(Run.tenant_id == principal.tenant_id, Run.id == run_id)
        )
        plans[run_id] = await load_plan(session, run) if run is not None else None
    plan = plans[run_id]
    tree = plan.tree(assignment.tree_id) if plan is not None else None
    if plan is None or tree is None:
        return None
    row = await session.scalar(
        select(RunResult).where(
            and_(
                RunResult.tenant_id == principal.tenant_id,
                RunResult.run_id == run_id,
                RunResult.customer_id == customer.id,
            )
        )
    )
    if row is None:
        return None
    return render_result(plan, tree, row, customer.code, customer.name)
