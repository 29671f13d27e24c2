"""Why a customer moved: compare a changed result with the same customer's result in the
tree's previous apply run — the run whose assignment this one changed — from the two
stored snapshots, under this run's rules (app/rules/language/moves.py)."""

import uuid
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.i18n import current_locale
from app.core.pagination import PageParams
from app.models import Run, RunResult, RunTree
from app.rules.language.evaluate import Evaluator
from app.rules.language.moves import Flip, Move, describe, flipped
from app.runs.plan import RunPlan, TreePlan, load_plan
from app.runs.results import RenderedResult, ResultsPage, results_page, snapshot_arrays
from app.runs.schemas import ResultFilter


async def results_with_reasons(
    session: AsyncSession,
    principal: Principal,
    run_id: uuid.UUID,
    where: ResultFilter,
    page: PageParams,
) -> ResultsPage:
    """A page of results (app/runs/results.py), each changed one with why it moved."""
    found = await results_page(session, principal, run_id, where, page)
    reasons = await why_moved(session, found.plan, found.items)
    items = [
        replace(item, change_reason=reasons.get((item.customer_id, item.tree_id)))
        for item in found.items
    ]
    return replace(found, items=items)


@dataclass(frozen=True)
class _Previous:
    plan: RunPlan
    tree: TreePlan
    rows: dict[uuid.UUID, RunResult]
    # This run's rules over the earlier values: scores (ntile, rank_pct) placed among the
    # earlier run's cut points, where the customer stood then.
    evaluator: Evaluator


async def why_moved(
    session: AsyncSession, plan: RunPlan, items: list[RenderedResult]
) -> dict[tuple[uuid.UUID, uuid.UUID], Move]:
    """For each changed item that moved from another category: the flipped conditions and
    the sentence, by (customer, tree). An item without an earlier apply run of its tree
    (a first classification) has none."""
    moved = [i for i in items if i.changed and i.previous_categories]
    reasons: dict[tuple[uuid.UUID, uuid.UUID], Move] = {}
    for tree in plan.trees:
        mine = [i for i in moved if i.tree_id == tree.tree_id]
        if not mine:
            continue
        previous = await _previous(session, plan, tree, [i.customer_id for i in mine])
        if previous is None:
            continue
        for item in mine:
            move = _move(plan, tree, previous, item)
            if move is not None:
                reasons[(item.customer_id, tree.tree_id)] = move
    return reasons


async def _previous(
    session: AsyncSession, plan: RunPlan, tree: TreePlan, customers: list[uuid.UUID]
) -> _Previous | None:
    run = plan.run
    earlier = await session.scalar(
        select(Run)
        .join(RunTree, (RunTree.tenant_id == Run.tenant_id) & (RunTree.run_id == Run.id))
        .where(
            Run.tenant_id == run.tenant_id,
            RunTree.tree_id == tree.tree_id,
            Run.status == "succeeded",
            Run.mode == "apply",
            Run.created_at < run.created_at,
        )
        .order_by(Run.created_at.desc(), Run.id.desc())
        .limit(1)
    )
    if earlier is None:
        return None
    earlier_plan = await load_plan(session, earlier)
    earlier_tree = earlier_plan.tree(tree.tree_id)
    if earlier_tree is None:
        return None
    rows = await session.scalars(
        select(RunResult).where(
            RunResult.tenant_id == run.tenant_id,
            RunResult.run_id == earlier.id,
            RunResult.customer_id.in_(customers),
        )
    )
    then = Evaluator(
        tree.rules, plan.catalog, cut_points={**tree.cut_points, **earlier_tree.cut_points}
    )
    return _Previous(earlier_plan, earlier_tree, {r.customer_id: r for r in rows}, then)


def _move(plan: RunPlan, tree: TreePlan, previous: _Previous, item: RenderedResult) -> Move | None:
    row = previous.rows.get(item.customer_id)
    if row is None:
        return None
    locale = current_locale.get()
    versions = (previous.tree.version_number, tree.version_number)
    old_name = ", ".join(c.name for c in item.previous_categories)
    new_name = ", ".join(c.name for c in item.categories)
    kept = {slot.key for slot in previous.plan.layout.slots}
    flips: tuple[Flip, ...] = ()
    if set(tree.fields) <= kept:  # the earlier snapshot holds every value these rules read
        evaluator = plan.evaluator(tree.position)
        before_values = previous.plan.layout.values(snapshot_arrays(row), tree.fields)
        after_values = {key: item.metrics.get(key) for key in tree.fields}
        before = previous.evaluator.evaluate(before_values, previous.plan.run.as_of)
        after = evaluator.evaluate(after_values, plan.run.as_of)
        flips = flipped(before, after)
    return describe(flips, old_name, new_name, plan.catalog, locale, versions)
