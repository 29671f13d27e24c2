"""Reading a run's results: one item per customer and tree, with the rationale rendered
on read by the Python back end from the stored ruleset version and value snapshot, in the
caller's language (nothing rendered is stored)."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.errors import Conflict, InvalidInput
from app.core.i18n import Text, current_locale
from app.core.pagination import InvalidCursor, PageParams, decode_cursor, encode_cursor
from app.models import Customer, RunResult
from app.models.runs import BORDERLINE, CHANGED, LOCKED_CONFLICT
from app.rules.language.explain import Rationale, explain
from app.rules.language.moves import Move
from app.rules.language.tree import Rule
from app.runs.layout import category_index, flags_index, previous_index, rule_index
from app.runs.plan import CategoryView, RunPlan, TreePlan, load_plan
from app.runs.schemas import ResultFilter
from app.runs.service import get_run


class RunNotFinished(Conflict):
    default_detail = Text(
        "运行成功结束后才能查看结果", "Results can be read once the run has succeeded"
    )


@dataclass(frozen=True)
class RenderedResult:
    """One customer's outcome in one tree, with its rationale in the caller's language."""

    customer_id: uuid.UUID
    customer_code: str
    customer_name: str
    tree_id: uuid.UUID
    categories: list[CategoryView]  # one, or several in a multi-assign tree
    previous_categories: list[CategoryView]
    changed: bool
    rule: Rule | None
    rationale: Rationale
    metrics: dict[str, Any]
    borderline: bool
    locked_conflict: bool
    change_reason: Move | None = None  # why it moved since the tree's previous apply run

    @property
    def category(self) -> CategoryView:
        return self.categories[0]

    @property
    def previous_category(self) -> CategoryView | None:
        return self.previous_categories[0] if self.previous_categories else None


@dataclass(frozen=True)
class ResultsPage:
    items: list[RenderedResult]
    next_cursor: str | None
    plan: RunPlan


async def results_page(
    session: AsyncSession,
    principal: Principal,
    run_id: uuid.UUID,
    where: ResultFilter,
    page: PageParams,
) -> ResultsPage:
    """A page of a succeeded run's results, by customer (then tree), filtered."""
    run = await get_run(session, principal, run_id)
    if run.status != "succeeded":
        raise RunNotFinished
    plan = await load_plan(session, run)
    trees = _trees(plan, where)
    slots = _category_slots(trees, where)
    after = _cursor(page.cursor)
    statement = (
        select(RunResult, Customer.code, Customer.name)
        .join(
            Customer,
            (Customer.tenant_id == RunResult.tenant_id) & (Customer.id == RunResult.customer_id),
        )
        .where(RunResult.tenant_id == run.tenant_id, RunResult.run_id == run.id)
        .order_by(RunResult.customer_id)
    )
    if after is not None:
        statement = statement.where(RunResult.customer_id >= after[0])
    conditions = [_row_matches(tree, slots, where) for tree in trees]
    if any(c is not None for c in conditions):
        statement = statement.where(or_(*(c for c in conditions if c is not None)))
    if where.changed or where.borderline or where.locked_conflict:
        statement = statement.where(RunResult.attention != 0)  # the partial index
    items: list[RenderedResult] = []
    more = False
    rows = await session.execute(statement.limit(page.limit + 1))
    for result, code, name in rows.all():
        for tree in trees:
            if after is not None and (result.customer_id, tree.position) <= after:
                continue
            if not _item_matches(result, tree, slots, where):
                continue
            if len(items) == page.limit:
                more = True
                break
            items.append(render_result(plan, tree, result, code, name))
        if more:
            break
    next_cursor = None
    if more and items:
        last = items[-1]
        position = next(t.position for t in trees if t.tree_id == last.tree_id)
        next_cursor = _encode(last.customer_id, position)
    return ResultsPage(items, next_cursor, plan)


def _trees(plan: RunPlan, where: ResultFilter) -> list[TreePlan]:
    if where.tree_id is None:
        return list(plan.trees)
    tree = plan.tree(where.tree_id)
    if tree is None:
        raise InvalidInput(
            Text("该运行不包含此分类维度", "The run did not classify this tree"),
            errors=[
                {
                    "loc": ["query", "tree_id"],
                    "msg": "not a tree of the run",
                    "type": "unknown_tree",
                }
            ],
        )
    return [tree]


def _category_slots(trees: list[TreePlan], where: ResultFilter) -> set[int] | None:
    if where.category is None:
        return None
    if len(trees) != 1 or where.tree_id is None:
        raise InvalidInput(
            Text("按分类筛选时需同时指定 tree_id", "Filtering by category needs tree_id"),
            errors=[
                {"loc": ["query", "category"], "msg": "give tree_id too", "type": "needs_tree"}
            ],
        )
    slots = {slot for slot, c in trees[0].categories.items() if c.code == where.category}
    if not slots:
        raise InvalidInput(
            Text("该分类维度没有此分类编码", "No category of the tree has this code"),
            errors=[
                {
                    "loc": ["query", "category"],
                    "msg": "unknown category code",
                    "type": "unknown_category",
                }
            ],
        )
    return slots


_FLAGS = (("changed", CHANGED), ("borderline", BORDERLINE), ("locked_conflict", LOCKED_CONFLICT))


def _row_matches(
    tree: TreePlan, slots: set[int] | None, where: ResultFilter
) -> ColumnElement[bool] | None:
    """The filters on one tree's outcome as SQL (None: no filter)."""
    outcome = RunResult.outcome
    tests: list[ColumnElement[bool]] = []
    if slots is not None:
        entry = outcome[category_index(tree.position)]
        if tree.multi:
            bits = sum(tree.bit(slot) for slot in slots)
            tests.append(entry.op("&")(bits) != 0)
        else:
            tests.append(entry.in_(sorted(slots)))
    for name, bit in _FLAGS:
        wanted = getattr(where, name)
        if wanted is not None:
            flag = outcome[flags_index(tree.position)].op("&")(bit)
            tests.append(flag != 0 if wanted else flag == 0)
    if not tests:
        return None
    combined = tests[0]
    for test in tests[1:]:
        combined = combined & test
    return combined


def _item_matches(
    result: RunResult, tree: TreePlan, slots: set[int] | None, where: ResultFilter
) -> bool:
    outcome = result.outcome
    if slots is not None:
        entry = outcome[category_index(tree.position) - 1]
        held = set(tree.slots_in(entry)) if tree.multi else {entry}
        if not held & slots:
            return False
    flags = outcome[flags_index(tree.position) - 1]
    for name, bit in _FLAGS:
        wanted = getattr(where, name)
        if wanted is not None and bool(flags & bit) != wanted:
            return False
    return True


def render_result(
    plan: RunPlan, tree: TreePlan, result: RunResult, code: str, name: str
) -> RenderedResult:
    """One result item: the stored outcome, and the rationale from the snapshot."""
    outcome = result.outcome
    values = plan.layout.values(snapshot_arrays(result), tree.fields)
    evaluation = plan.evaluator(tree.position).evaluate(values, plan.run.as_of)
    flags = outcome[flags_index(tree.position) - 1]
    category = outcome[category_index(tree.position) - 1]
    previous = outcome[previous_index(tree.position) - 1]
    rules = outcome[rule_index(tree.position) - 1]
    if tree.multi:
        slots, previous_slots = tree.slots_in(category), tree.slots_in(previous)
        matched = tree.matched_rules(rules)
        rule = matched[0] if matched else None
    else:
        slots, previous_slots = [category], [previous] if previous else []
        rule = tree.rule(rules)
    return RenderedResult(
        customer_id=result.customer_id,
        customer_code=code,
        customer_name=name,
        tree_id=tree.tree_id,
        categories=[tree.views[slot] for slot in slots],
        previous_categories=[tree.views[slot] for slot in previous_slots],
        changed=bool(flags & CHANGED),
        rule=rule,
        rationale=explain(evaluation, plan.catalog, current_locale.get()),
        metrics=values,
        borderline=bool(flags & BORDERLINE),
        locked_conflict=bool(flags & LOCKED_CONFLICT),
    )


def snapshot_arrays(result: RunResult) -> Mapping[str, Any]:
    return {
        "nums": result.nums,
        "ints": result.ints,
        "dates": result.dates,
        "texts": result.texts,
        "bools": result.bools,
        "lists": result.lists,
    }


def _encode(customer_id: uuid.UUID, position: int) -> str:
    return encode_cursor([str(customer_id), position])


def _cursor(cursor: str | None) -> tuple[uuid.UUID, int] | None:
    if cursor is None:
        return None
    values = decode_cursor(cursor)
    if len(values) != 2 or not isinstance(values[1], int) or isinstance(values[1], bool):
        raise InvalidCursor
    try:
        return uuid.UUID(values[0]), values[1]
    except (ValueError, TypeError, AttributeError):
        raise InvalidCursor from None
