"""A run's counts: per tree and category, changed, locked conflicts, borderline."""

from typing import Any

from sqlalchemy import Integer, func, select
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import RunResult
from app.models.runs import BORDERLINE, CHANGED, LOCKED_CONFLICT
from app.runs.plan import RunPlan


async def count_results(session: AsyncSession, plan: RunPlan) -> dict[str, Any]:
    """Counts over the run's results in one pass (stored as `runs.counts`)."""
    run = plan.run
    positions = (
        func.unnest(array([t.position for t in plan.trees], type_=Integer))
        .table_valued("position")
        .render_derived("positions")
    )
    base = 4 * positions.c.position
    category = RunResult.outcome[base + 1]
    flags = RunResult.outcome[base + 4]

    def having(bit: int) -> Any:
        return func.count().filter(flags.op("&")(bit) != 0)

    rows = await session.execute(
        select(
            positions.c.position,
            category,
            func.count(),
            having(CHANGED),
            having(LOCKED_CONFLICT),
            having(BORDERLINE),
        )
        .select_from(RunResult)
        .join(positions, positions.c.position.is_not(None))
        .where(RunResult.tenant_id == run.tenant_id, RunResult.run_id == run.id)
        .group_by(positions.c.position, category)
    )
    trees: dict[int, dict[str, Any]] = {
        t.position: {
            "tree_id": str(t.tree_id),
            "position": t.position,
            "categories": {},
            "changed": 0,
            "locked_conflicts": 0,
            "borderline": 0,
        }
        for t in plan.trees
    }
    plans = {t.position: t for t in plan.trees}
    customers = {t.position: 0 for t in plan.trees}
    for position, entry, count, changed, conflicts, borderline in rows.all():
        tree = trees[position]
        # A multi-assign tree's entry is a mask: the customers count once in each of
        # its categories.
        slots = plans[position].slots_in(entry) if plans[position].multi else [entry]
        for slot in slots:
            tree["categories"][str(slot)] = tree["categories"].get(str(slot), 0) + count
        customers[position] += count
        tree["changed"] += changed
        tree["locked_conflicts"] += conflicts
        tree["borderline"] += borderline
    listed = [trees[t.position] for t in plan.trees]
    return {
        "customers": customers[plan.trees[0].position] if plan.trees else 0,
        "changed": sum(t["changed"] for t in listed),
        "locked_conflicts": sum(t["locked_conflicts"] for t in listed),
        "trees": listed,
    }
