"""Cut points of scores (ntile, rank_pct; app/rules/language/quantiles.py): computed over a
population in SQL with window functions, and read back for one customer.

A run computes them over its own population and stores them (app/runs/cut_points.py).
The Python back end, evaluating one customer (reclassify, webhooks, POST /rules/evaluate),
takes them from the latest succeeded run of the tree that has them; for a score no such
run has (a tree never run since its ruleset first used it, or no tree at all), they are
computed from the tenant's current values — every customer, as of the day asked — for
that call alone.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, FromClause, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.catalog import FieldCatalog
from app.facts.values import materialise_values
from app.models import Run, RunCutPoint
from app.rules.language.compile_sql import worst_value_per_score
from app.rules.language.evaluate import Evaluator
from app.rules.language.quantiles import (
    CutPoints,
    ScoreKey,
    cut_points_from,
    lower_is_better,
    score_keys,
)
from app.rules.language.tree import Ruleset


@dataclass(frozen=True)
class PopulationCuts:
    """The cut points of one score over a population, and how many had a value."""

    cuts: tuple[Decimal, ...]
    population: int


async def population_cut_points(
    conn: AsyncConnection,
    population: FromClause,
    columns: Mapping[str, ColumnElement[Any]],
    where: Sequence[ColumnElement[bool]],
    keys: Iterable[ScoreKey],
    catalog: FieldCatalog,
) -> dict[ScoreKey, PopulationCuts]:
    """The cut points of each score over the rows of `population` passing `where` (one
    statement per score; each reads the caller's materialised values)."""
    found: dict[ScoreKey, PopulationCuts] = {}
    for key in keys:
        definition = catalog.get(key.field)
        if definition is None:
            raise ValueError(f"unknown field {key.field!r}")
        lower = lower_is_better(definition)
        query = worst_value_per_score(columns[key.field], population, where, key.buckets, lower)
        rows: list[Any] = list(await conn.execute(query))
        worst = {int(score): Decimal(value) for score, value, _ in rows}
        found[key] = PopulationCuts(
            cut_points_from(worst, key.buckets, lower), sum(int(n) for _, _, n in rows)
        )
    return found


async def current_cut_points(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    as_of: date,
    catalog: FieldCatalog,
    keys: Sequence[ScoreKey],
) -> dict[ScoreKey, tuple[Decimal, ...]]:
    """The cut points over every customer of the tenant, by their values as of `as_of`."""
    if not keys:
        return {}
    conn = await session.connection()
    fields = sorted({key.field for key in keys})
    values = await materialise_values(conn, tenant_id, as_of, catalog, fields)
    columns = {field: values.c[field] for field in fields}
    found = await population_cut_points(conn, values, columns, [], keys, catalog)
    return {key: cuts.cuts for key, cuts in found.items()}


async def latest_run_cut_points(
    session: AsyncSession, tenant_id: uuid.UUID, tree_id: uuid.UUID, keys: Sequence[ScoreKey]
) -> dict[ScoreKey, tuple[Decimal, ...]]:
    """Per score, the cut points of the latest succeeded run of the tree that has them."""
    if not keys:
        return {}
    rows = await session.execute(
        select(RunCutPoint.field, RunCutPoint.buckets, RunCutPoint.cuts)
        .join(Run, (Run.tenant_id == RunCutPoint.tenant_id) & (Run.id == RunCutPoint.run_id))
        .where(
            RunCutPoint.tenant_id == tenant_id,
            RunCutPoint.tree_id == tree_id,
            RunCutPoint.field.in_({key.field for key in keys}),
            Run.status == "succeeded",
        )
        .order_by(Run.created_at.desc(), Run.id.desc())
    )
    wanted = set(keys)
    found: dict[ScoreKey, tuple[Decimal, ...]] = {}
    for field, buckets, cuts in rows:
        key = ScoreKey(field, buckets)
        if key in wanted and key not in found:
            found[key] = tuple(Decimal(c) for c in cuts)
    return found


async def cut_points_for(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    tree_id: uuid.UUID | None,
    keys: Sequence[ScoreKey],
    as_of: date,
    catalog: FieldCatalog,
) -> CutPoints:
    """The cut points one customer is scored by: the tree's latest succeeded run's, and
    for the scores it has none of, the tenant's current values' (see the module)."""
    found = await latest_run_cut_points(session, tenant_id, tree_id, keys) if tree_id else {}
    missing = [key for key in keys if key not in found]
    if missing:
        found |= await current_cut_points(session, tenant_id, as_of, catalog, missing)
    return found


async def evaluator_for(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    tree_id: uuid.UUID | None,
    ruleset: Ruleset,
    as_of: date,
    catalog: FieldCatalog,
) -> Evaluator:
    """A Python evaluator of the ruleset, with the cut points of its scores if it has
    any (`cut_points_for`)."""
    keys = score_keys([ruleset])
    cut_points = await cut_points_for(session, tenant_id, tree_id, keys, as_of, catalog)
    return Evaluator(ruleset, catalog, cut_points=cut_points)
