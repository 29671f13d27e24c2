"""Field values read back from a run's snapshot instead of computed from the activity.

A succeeded run over every customer stored, per customer, the values its rules read
(app/facts/snapshot_layout.py). A preview as of the same day can read them — one scan of
the run's results — instead of aggregating the activity again, as long as the snapshot
holds every field it needs, typed as the catalog types it now. Whether the activity or
the profiles changed since is `newest_change`'s to say (table `fact_changes`, stamped by
triggers on every write).
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    FromClause,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import type_coerce

from app.catalog import FieldCatalog
from app.core.sql import visible_in
from app.facts.metrics import FieldColumns
from app.facts.snapshot_layout import ELEMENT_TYPES, Slot, SnapshotLayout
from app.models import FactChange, Run, RunResult, table_of

# Runs looked at, newest first, for one whose snapshot holds the fields: a tenant's
# runs of one day are few (a schedule's and an operator's), and a run of another tree
# may hold other fields.
_CANDIDATES = 10


# Over a snapshot, a preview walks the run's results and the tree's assignments in
# customer order (both primary keys end in customer_id) and counts the few (current,
# new) pairs in a hash. Left alone, at 1M the planner hashed the wide snapshot rows
# (32 batches to disk) and sorted 1M rows to group them (external merge), expecting
# 700k groups where there are at most categories²: 2.4 s of CPU per call against 1.0 s
# (bench/whatif.plans.txt). The walk is shared by parallel workers (each takes a part of
# the snapshot's index and merges it with the assignments): PostgreSQL's default cost of
# passing rows up kept it in one process, 20 % slower at 1M on a loaded machine.
SNAPSHOT_PLANNER_SETTINGS = {
    "enable_hashjoin": "off",
    "enable_sort": "off",
    "parallel_setup_cost": "0",
    "parallel_tuple_cost": "0",
}


@dataclass(frozen=True)
class Snapshot:
    """The values a run stored, and when it began reading them."""

    run_id: uuid.UUID
    taken_at: datetime  # the run's start: no value in it is older than this
    layout: SnapshotLayout
    # PostgreSQL's snapshot when the run started (None: a run from before they were kept).
    started_snapshot: str | None = None


@dataclass(frozen=True)
class SnapshotValues:
    """A snapshot as a FROM clause, its customer id and `columns` for the rule compiler."""

    from_clause: FromClause
    customer_id: ColumnElement[uuid.UUID]
    where: ColumnElement[bool]
    columns: FieldColumns


async def newest_change(session: AsyncSession, tenant_id: uuid.UUID) -> datetime | None:
    """When the tenant's activity or customer profiles last changed (None: not since the
    changes began to be recorded)."""
    return await session.scalar(
        select(func.max(FactChange.changed_at)).where(FactChange.tenant_id == tenant_id)
    )


async def latest_snapshot(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    as_of: date,
    fields: Iterable[str],
    catalog: FieldCatalog,
) -> Snapshot | None:
    """The newest succeeded run of the tenant over all its customers as of `as_of` whose
    snapshot holds every one of `fields` as `catalog` types it (None: no such run)."""
    keys = set(fields)
    rows = await session.execute(
        select(Run.id, Run.started_at, Run.fields, Run.started_snapshot)
        .where(
            Run.tenant_id == tenant_id,
            Run.status == "succeeded",
            Run.as_of == as_of,
            Run.scope["type"].astext == "all",
            Run.started_at.is_not(None),
        )
        .order_by(Run.started_at.desc())
        .limit(_CANDIDATES)
    )
    for run_id, started_at, stored, started_snapshot in rows:
        layout = SnapshotLayout.from_json(stored)
        if holds(layout, keys, catalog):
            return Snapshot(run_id, started_at, layout, started_snapshot)
    return None


async def changed_since(
    session: AsyncSession, tenant_id: uuid.UUID, snapshot: Snapshot, changed_at: datetime | None
) -> bool:
    """Whether the tenant's activity or profiles changed after the run read them: a
    stamping transaction, committed since, that its starting snapshot did not see (a
    write stamped before the run started may commit after it read the values). A run
    from before snapshots were kept: a stamp later than its start."""
    if snapshot.started_snapshot is None:
        return changed_at is not None and changed_at > snapshot.taken_at
    seen_by_run = visible_in(FactChange.txid, snapshot.started_snapshot)
    unseen = exists().where(FactChange.tenant_id == tenant_id, ~seen_by_run)
    return bool(await session.scalar(select(unseen)))


def holds(layout: SnapshotLayout, keys: Iterable[str], catalog: FieldCatalog) -> bool:
    """Whether the layout keeps every key with the type the catalog gives it now (a
    custom field redefined with another type since the run is not the same field)."""
    slots = {slot.key: slot for slot in layout.slots}
    for key in keys:
        slot, field = slots.get(key), catalog.get(key)
        if slot is None or field is None or slot.type != field.type:
            return False
    return True


def snapshot_values(
    snapshot: Snapshot, tenant_id: uuid.UUID, keys: Iterable[str]
) -> SnapshotValues:
    """The snapshot's rows and each of `keys` as an element of its type's array."""
    results = table_of(RunResult).alias("snapshot")
    slots = {slot.key: slot for slot in snapshot.layout.slots}
    columns = {key: _element(results, slots[key]) for key in keys}
    return SnapshotValues(
        results,
        results.c.customer_id,
        and_(results.c.tenant_id == tenant_id, results.c.run_id == snapshot.run_id),
        columns,
    )


def _element(results: FromClause, slot: Slot) -> ColumnElement[Any]:
    element = results.c[slot.array][slot.index]
    if slot.array != "lists":
        return type_coerce(element, ELEMENT_TYPES[slot.array])
    # String lists are kept as JSON text (app/facts/snapshot_layout.py): back to an array.
    items = func.json_array_elements_text(cast(element, JSON)).column_valued()
    as_array = func.array(select(items).scalar_subquery())
    return type_coerce(case((element.is_(None), null()), else_=as_array), ARRAY(String()))
