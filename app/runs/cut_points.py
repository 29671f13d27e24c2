"""A run's cut points (ntile, rank_pct): computed once over the run's population — its
customers in scope, by their values as of the run's day — when the run starts, stored
per tree, field and number of groups, and read with the run's plan so every chunk (and
every rationale rendered later) scores by the same ones."""

import uuid
from typing import Any

from sqlalchemy import ColumnElement, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.facts.cut_points import population_cut_points
from app.facts.values import materialise_values
from app.models import RunCutPoint
from app.rules.language.compile_sql import compile_condition
from app.rules.language.quantiles import score_keys
from app.rules.language.tree import iter_leaves
from app.runs.plan import RunPlan


async def store_cut_points(session: AsyncSession, plan: RunPlan) -> int:
    """Compute and store the cut points every tree of the run needs (in the caller's
    transaction); how many sets were stored. Nothing to do for rules without scores."""
    run = plan.run
    needed = {tree.tree_id: score_keys([tree.rules]) for tree in plan.trees}
    keys = sorted({key for tree_keys in needed.values() for key in tree_keys})
    if not keys:
        return 0
    fields = {key.field for key in keys}
    if plan.scope is not None:
        fields |= {leaf.field for leaf in iter_leaves(plan.scope)}
    ids = [uuid.UUID(i) for i in run.scope["customer_ids"]] if "customer_ids" in run.scope else None
    conn = await session.connection()
    values = await materialise_values(conn, run.tenant_id, run.as_of, plan.catalog, fields, ids)
    columns = {field: values.c[field] for field in fields}
    where: list[ColumnElement[Any]] = []
    # The listed customers (`ids`) are all `values` holds: materialised for them alone.
    if plan.scope is not None:
        where.append(compile_condition(plan.scope, columns, run.as_of, plan.catalog))
    found = await population_cut_points(conn, values, columns, where, keys, plan.catalog)
    rows = [
        {
            "tenant_id": run.tenant_id,
            "run_id": run.id,
            "tree_id": tree_id,
            "field": key.field,
            "buckets": key.buckets,
            "cuts": list(found[key].cuts),
            "population": found[key].population,
        }
        for tree_id, tree_keys in needed.items()
        for key in tree_keys
    ]
    await session.execute(insert(RunCutPoint), rows)
    return len(rows)
