"""Drift alerts (seed 002: 流失率异常波动): a category whose share of the customers moved
by more than the tree's `drift_threshold_pp` percentage points since the tree's previous
apply run.

The previous run is the tree's latest succeeded apply run over the same scope: shares of
a ten-customer run and of all customers say nothing about each other. Shares come from
the two runs' stored counts (`runs.counts`), so finding drift reads no results; a
category is matched across the runs by its id, and one present in only one of them has
a share of 0 in the other.
"""

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import CategoryTree, Run, RunCategory, RunTree
from app.runs.plan import TreePlan


@dataclass(frozen=True)
class Drift:
    """One category's move: shares in percent of the run's customers, and the move in
    percentage points (after − before)."""

    tree_id: str
    category: dict[str, Any]  # id, code, name, path
    before: float
    after: float
    pp: float
    threshold_pp: float
    previous_run_id: str


async def detect_drift(
    session: AsyncSession, run: Run, trees: Sequence[TreePlan], counts: dict[str, Any]
) -> list[dict[str, Any]]:
    """The drifts of an apply run with these counts, largest move first within each tree
    (JSON-ready, as `runs.drift` keeps them)."""
    if run.mode != "apply" or not counts.get("customers"):
        return []
    rows = await session.execute(
        select(CategoryTree.id, CategoryTree.drift_threshold_pp).where(
            CategoryTree.tenant_id == run.tenant_id,
            CategoryTree.id.in_([t.tree_id for t in trees]),
        )
    )
    thresholds: dict[uuid.UUID, float] = {tree_id: pp for tree_id, pp in rows.all()}
    found: list[Drift] = []
    for tree in trees:
        threshold = thresholds.get(tree.tree_id)
        previous = await _previous_apply_run(session, run, tree.tree_id)
        if threshold is None or previous is None or not (previous.counts or {}).get("customers"):
            continue
        now = _shares(counts, str(tree.tree_id), tree.categories)
        then = _shares(
            previous.counts or {},
            str(tree.tree_id),
            await _categories(session, previous),
        )
        moves = []
        for category_id in now.keys() | then.keys():
            category, after = now.get(category_id, (None, 0.0))
            earlier, before = then.get(category_id, (None, 0.0))
            pp = after - before
            if abs(pp) > threshold:
                moves.append(
                    Drift(
                        tree_id=str(tree.tree_id),
                        category=category or earlier or {},
                        before=round(before, 2),
                        after=round(after, 2),
                        pp=round(pp, 2),
                        threshold_pp=threshold,
                        previous_run_id=str(previous.id),
                    )
                )
        found += sorted(moves, key=lambda d: (-abs(d.pp), d.category.get("code", "")))
    return [asdict(d) for d in found]


async def _previous_apply_run(session: AsyncSession, run: Run, tree_id: uuid.UUID) -> Run | None:
    return await session.scalar(
        select(Run)
        .join(RunTree, (RunTree.tenant_id == Run.tenant_id) & (RunTree.run_id == Run.id))
        .where(
            RunTree.tenant_id == run.tenant_id,
            RunTree.tree_id == tree_id,
            Run.id != run.id,
            Run.mode == "apply",
            Run.status == "succeeded",
            Run.scope == run.scope,
        )
        .order_by(Run.finished_at.desc(), Run.id.desc())
        .limit(1)
    )


async def _categories(session: AsyncSession, run: Run) -> dict[int, RunCategory]:
    rows = await session.scalars(
        select(RunCategory).where(
            RunCategory.tenant_id == run.tenant_id, RunCategory.run_id == run.id
        )
    )
    return {c.slot: c for c in rows}


def _shares(
    counts: dict[str, Any], tree_id: str, categories: dict[int, RunCategory]
) -> dict[uuid.UUID, tuple[dict[str, Any], float]]:
    """Category id → (the category as the run saw it, its share in percent)."""
    customers = counts.get("customers") or 0
    tree = next((t for t in counts.get("trees", []) if t["tree_id"] == tree_id), None)
    if tree is None or not customers:
        return {}
    shares = {}
    for slot, count in tree["categories"].items():
        category = categories.get(int(slot))
        if category is None:
            continue
        seen = {
            "id": str(category.category_id),
            "code": category.code,
            "name": category.name,
            "path": list(category.path),
        }
        shares[category.category_id] = (seen, 100.0 * count / customers)
    return shares
