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
from app.facts.cut_points import evaluator_for
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
from app.rules.language.evaluate import Evaluation
from app.rules.language.explain import Rationale, explain
from app.rules.language.tree import Rule, iter_leaves
from app.runs.plan import CategoryView, RunPlan, load_plan
from app.runs.results import RenderedResult, render_result
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
        evaluator = await evaluator_for(
            session, principal.tenant_id, item.tree.id, item.rules, day, catalog
        )
        evaluation = evaluator.evaluate(values, day)
        by_code = {c.code: c for c in item.categories}
        by_id = {c.id: c for c in item.categories}
        targets = [by_code[code] for code in evaluation.categories]
        held = await _held_rows(session, principal.tenant_id, item, customer.id)
        previous = [by_id[a.category_id] for a in held if a.category_id in by_id]
        change = change_in_tree(item, held, targets)
        applied = False
        if change.changed and not dry_run:
            writes = _Writes(session, principal, item, customer, evaluation, source, reason, day)
            await writes.apply(change)
            applied = True
        done.append(
            Reclassified(
                _result(
                    item,
                    customer,
                    evaluation,
                    catalog,
                    targets,
                    previous,
                    values,
                    change.changed,
                    change.conflict,
                ),
                applied,
            )
        )
    return done


async def _held_rows(
    session: AsyncSession, tenant_id: uuid.UUID, item: TreeToRun, customer_id: uuid.UUID
) -> list[Assignment]:
    """The customer's assignments in the tree, locked (in category order)."""
    rows = await session.scalars(
        select(Assignment)
        .where(
            Assignment.tenant_id == tenant_id,
            Assignment.tree_id == item.tree.id,
            Assignment.customer_id == customer_id,
        )
        .order_by(Assignment.category_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(rows)


@dataclass(frozen=True)
class TreeChange:
    """What applying the rules' categories to what the customer holds would do."""

    replace: Assignment | None  # single-assign: the row to move (None: insert)
    add: list[Category]
    remove: list[Assignment]
    conflict: bool

    @property
    def changed(self) -> bool:
        return bool(self.add or self.remove)


def change_in_tree(item: TreeToRun, held: list[Assignment], targets: list[Category]) -> TreeChange:
    """What applying the rules' categories (`targets`) to what the customer holds in the
    tree (`held`, locked) changes; a locked assignment the rules would change is a
    conflict, never a change."""
    held_ids = {a.category_id for a in held}
    target_ids = {c.id for c in targets}
    if item.tree.multi_assign:
        # Locked categories the rules no longer give stay: a conflict, not a removal.
        return TreeChange(
            None,
            [c for c in targets if c.id not in held_ids],
            [a for a in held if a.category_id not in target_ids and not a.locked],
            any(a.locked and a.category_id not in target_ids for a in held),
        )
    current = held[0] if held else None
    if current is not None and current.category_id in target_ids:
        return TreeChange(current, [], [], False)
    if current is not None and current.locked:
        return TreeChange(current, [], [], True)
    return TreeChange(current, targets, [current] if current is not None else [], False)


@dataclass
class _Writes:
    """Applying one customer's change in one tree, with history and outbox."""

    session: AsyncSession
    principal: Principal
    item: TreeToRun
    customer: Customer
    evaluation: Evaluation
    source: str
    reason: str | None
    day: date

    async def apply(self, change: TreeChange) -> None:
        if not self.item.tree.multi_assign:
            await self._move(change.replace, change.add[0])
        else:
            for row in change.remove:
                old = await self.session.get(Category, row.category_id)
                await self.session.delete(row)
                await self._record(old, None)
            for category in change.add:
                if await self._insert(category):
                    await self._record(None, category)
        await self.session.flush()
        record_event(
            self.session,
            self.principal,
            entity_type="assignment",
            entity_id=self.customer.id,
            action="reclassify",
            after={
                "tree_id": str(self.item.tree.id),
                "source": self.source,
                "categories": [c.code for c in change.add],
            },
        )

    async def _move(self, current: Assignment | None, target: Category) -> None:
        if current is None:
            if await self._insert(target):
                await self._record(None, target)
            return
        previous = await self.session.get(Category, current.category_id)
        current.category_id = target.id
        current.source = self.source
        current.reason = self.reason
        current.run_id = None
        current.assigned_by = self.principal.actor
        current.assigned_at = func.now()  # set at flush
        current.version += 1
        await self._record(previous, target)

    async def _insert(self, category: Category) -> bool:
        """Insert the assignment unless someone made the same one a moment ago."""
        multi = self.item.tree.multi_assign
        inserted = await self.session.scalar(
            pg_insert(Assignment)
            .values(
                tenant_id=self.principal.tenant_id,
                tree_id=self.item.tree.id,
                customer_id=self.customer.id,
                category_id=category.id,
                multi=multi,
                source=self.source,
                locked=False,
                reason=self.reason,
                assigned_by=self.principal.actor,
            )
            .on_conflict_do_nothing(
                index_elements=["tenant_id", "tree_id", "customer_id"]
                + (["category_id"] if multi else []),
                index_where=None if multi else ~Assignment.multi,
            )
            .returning(Assignment.id)
        )
        return inserted is not None

    async def _record(self, old: Category | None, new: Category | None) -> None:
        rule = self._rule_for(new)
        key = rule.key if rule is not None else None
        self.session.add(
            AssignmentHistory(
                tenant_id=self.principal.tenant_id,
                tree_id=self.item.tree.id,
                customer_id=self.customer.id,
                from_category_id=old.id if old else None,
                from_code=old.code if old else None,
                from_name=old.name if old else None,
                to_category_id=new.id if new else None,
                to_code=new.code if new else None,
                to_name=new.name if new else None,
                source=self.source,
                rule_key=key,
                actor=self.principal.actor,
                reason=self.reason,
            )
        )
        self.session.add(
            OutboxEvent(
                tenant_id=self.principal.tenant_id,
                event_type="customer.classification_changed",
                payload={
                    "customer_id": str(self.customer.id),
                    "customer_code": self.customer.code,
                    "tree_id": str(self.item.tree.id),
                    "from": category_ref(old),
                    "to": category_ref(new),
                    "rule_key": key,
                    "run_id": None,
                    "as_of": self.day.isoformat(),
                    "source": self.source,
                },
            )
        )

    def _rule_for(self, category: Category | None) -> Rule | None:
        return deciding_rule(self.item, self.evaluation, category)


def deciding_rule(
    item: TreeToRun, evaluation: Evaluation, category: Category | None
) -> Rule | None:
    """The first matching rule that gives `category` (None for the default)."""
    if category is None:
        return None
    rules = item.rules.rules
    return next(
        (rules[i] for i in evaluation.matched if rules[i].category == category.code),
        None,
    )


def category_ref(category: Category | None) -> dict[str, Any] | None:
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
    targets: list[Category],
    previous: list[Category],
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
        categories=[_view(item, c) for c in targets],
        previous_categories=[_view(item, c) for c in previous],
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
    rows = await session.scalars(
        select(Assignment)
        .where(Assignment.tenant_id == principal.tenant_id, Assignment.customer_id == customer.id)
        .order_by(Assignment.tree_id, Assignment.category_id)
    )
    by_tree: dict[uuid.UUID, list[Assignment]] = {}
    for row in rows:
        by_tree.setdefault(row.tree_id, []).append(row)
    # The catalog and the published rules are read (and the rules parsed) only for a
    # tree whose category no run set: the common case, every category from a run, needs
    # neither.
    catalog: FieldCatalog | None = None
    published: dict[uuid.UUID, TreeToRun] | None = None
    today = tenant_today(principal)
    values: dict[str, Any] | None = None
    plans: dict[uuid.UUID, RunPlan | None] = {}
    results: dict[uuid.UUID, RunResult | None] = {}  # a run's row: every tree's outcome
    found = []
    for tree_id, held in by_tree.items():
        first = held[0]
        from_run = None
        if all(r.source == "run" and r.run_id == first.run_id for r in held) and first.run_id:
            from_run = await _run_result(
                session, principal, plans, results, tree_id, first.run_id, customer
            )
        rules_today = None
        item = None
        if from_run is None:
            if catalog is None or published is None:
                catalog = await tenant_catalog(session, principal.tenant_id)
                published = {
                    t.tree.id: t
                    for t in await trees_with_published_rules(
                        session, principal, None, catalog, required=False
                    )
                }
            item = published.get(tree_id)
        if from_run is None and item is not None and catalog is not None:
            if values is None:
                found_values = await customer_values(
                    session, principal.tenant_id, [customer.id], today, catalog
                )
                values = found_values[customer.id]
            evaluator = await evaluator_for(
                session, principal.tenant_id, item.tree.id, item.rules, today, catalog
            )
            evaluation = evaluator.evaluate(values, today)
            by_code = {c.code: c for c in item.categories}
            targets = [by_code[code] for code in evaluation.categories]
            change = change_in_tree(item, held, targets)
            rules_today = _result(
                item,
                customer,
                evaluation,
                catalog,
                targets,
                [],
                values,
                change.changed,
                change.conflict,
            )
        if from_run is not None:
            base = from_run
        elif rules_today is not None:
            views = [await _held_view(session, row, item) for row in held]
            base = _manual(rules_today, views, first)
        else:
            continue  # a tree without published rules says nothing about why
        found.append(
            Classification(
                base,
                first.source,
                any(r.locked for r in held),
                first.reason,
                first.assigned_by,
                max(r.assigned_at for r in held),
                first.run_id,
                rules_today,
            )
        )
    return found


async def _held_view(
    session: AsyncSession, assignment: Assignment, item: TreeToRun | None
) -> CategoryView:
    category = await session.get(Category, assignment.category_id)
    assert category is not None  # an assignment's category cannot be deleted under it
    if item is not None:
        return _view(item, category)
    return CategoryView(category.id, category.code, category.name, [category.code])


def _manual(
    rules_today: RenderedResult, held: list[CategoryView], assignment: Assignment
) -> RenderedResult:
    reason = assignment.reason
    text = Text(
        f"人工指定({assignment.assigned_by}){':' + reason if reason else ''}",
        f"Set by hand ({assignment.assigned_by}){': ' + reason if reason else ''}",
    ).get()
    return RenderedResult(
        customer_id=rules_today.customer_id,
        customer_code=rules_today.customer_code,
        customer_name=rules_today.customer_name,
        tree_id=rules_today.tree_id,
        categories=held,
        previous_categories=[],
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
    rows: dict[uuid.UUID, RunResult | None],
    tree_id: uuid.UUID,
    run_id: uuid.UUID,
    customer: Customer,
) -> RenderedResult | None:
    if run_id not in plans:
        run = await session.scalar(
            select(Run).where(Run.tenant_id == principal.tenant_id, Run.id == run_id)
        )
        plans[run_id] = await load_plan(session, run) if run is not None else None
    plan = plans[run_id]
    tree = plan.tree(tree_id) if plan is not None else None
    if plan is None or tree is None:
        return None
    if run_id not in rows:
        rows[run_id] = await session.scalar(
            select(RunResult).where(
                and_(
                    RunResult.tenant_id == principal.tenant_id,
                    RunResult.run_id == run_id,
                    RunResult.customer_id == customer.id,
                )
            )
        )
    row = rows[run_id]
    if row is None:
        return None
    return render_result(plan, tree, row, customer.code, customer.name)
