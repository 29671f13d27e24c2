"""Classification runs (分类执行): what a run classified, with which versions, and how.

A run's results are one row per customer (`run_results`), carrying every tree's outcome
and one typed snapshot of the values the rules read:

- `outcome` holds four integers per tree, the tree at `position` p (0-based) at
  `4p+1 .. 4p+4` (PostgreSQL arrays count from 1): the category's slot, the previous
  category's slot (0: none), the matched rule (its index + 1; 0: the default), and the
  flags (1 changed, 2 borderline, 4 locked conflict). A slot numbers a category within
  the run (`run_categories`), so a result stores no text and no jsonb. A multi-assign
  tree keeps sets as bit masks instead: of its categories (bit `slot - first slot of
  the tree`), of the categories held before, and of the matching rules (bit i: rule i);
  runs take multi-assign trees of up to 31 categories and 31 rules.
- `attention` is the flags of all trees OR-ed together; a partial index on it finds the
  changed, borderline and conflicting results without reading the others.
- the snapshot is one array per value type (`nums`, `ints`, `dates`, `texts`, `bools`,
  `lists`); `runs.fields` says which field sits where. String lists are kept as JSON text.

One row per customer rather than per customer and tree: written at 1M customers and
four trees, 4M narrow rows plus 1M snapshot rows cost about three times as much as 1M
rows carrying both (bench/result_layout.py). Results and outbox rows carry no foreign
keys for the same reason (an index probe per row written); results are reachable only
through their run, and retention deletes them with it.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TenantScoped, UUIDPrimaryKey

RUN_STATUSES = ("queued", "waiting", "running", "succeeded", "failed", "cancelled")
RUN_MODES = ("apply", "dry_run")

CHANGED = 1
BORDERLINE = 2
LOCKED_CONFLICT = 4


def _known(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Run(UUIDPrimaryKey, TenantScoped, Base):
    """One classification run over some customers and trees, as of a date."""

    __tablename__ = "runs"

    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    mode: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[date]
    # {"type": "all"} | {"type": "customers", "customer_ids": [...]} | {"type": "filter",
    # "when": <condition as submitted>}
    scope: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The snapshot's layout: [{"key", "type", "array", "index"}, ...] and custom fields'
    # definitions as they were, so results render after a field changes.
    fields: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    total: Mapped[int | None] = mapped_column(BigInteger)
    done: Mapped[int] = mapped_column(BigInteger, server_default="0")
    chunks_total: Mapped[int | None] = mapped_column(Integer)
    chunks_done: Mapped[int] = mapped_column(Integer, server_default="0")
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    timings: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # An apply run's drift alerts, known when it has succeeded: [{"tree_id", "category",
    # "before", "after", "pp", "threshold_pp", "previous_run_id"}] (app/runs/drift.py).
    drift: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    cancel_requested: Mapped[bool] = mapped_column(server_default="false")
    # While waiting: the apply run that holds one of this run's trees.
    waiting_for: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    created_by: Mapped[str] = mapped_column(String(255))
    # The schedule that started the run (null: started by a request, or the schedule
    # has been deleted since).
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("schedules.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The transactions whose writes the run's values may miss: PostgreSQL's snapshot
    # (`pg_current_snapshot()` as text) when the run started. A preview from the run's
    # snapshot is stale once a write to the facts not visible in it has committed.
    started_snapshot: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint(_known("status", RUN_STATUSES), name="status_known"),
        CheckConstraint(_known("mode", RUN_MODES), name="mode_known"),
        Index("ix_runs_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
        Index("ix_runs_tenant_id_status", "tenant_id", "status"),
        # A schedule's runs (GET /runs?schedule_id=), and the foreign key's SET NULL.
        Index(
            "ix_runs_schedule_id_created_at_id",
            "schedule_id",
            "created_at",
            "id",
            postgresql_where=text("schedule_id IS NOT NULL"),
        ),
    )


class RunTree(Base):
    """A tree of a run, at `position`, and the published ruleset version it used."""

    __tablename__ = "run_trees"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    tree_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    ruleset_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    version_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    version_number: Mapped[int] = mapped_column(Integer)
    # Held by an apply run from its start until it has applied or ended: at most one
    # run per tree (partial unique index), so two apply runs never interleave.
    applying: Mapped[bool] = mapped_column(server_default="false")
    applied_at: Mapped[datetime | None]

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "run_id"], ["runs.tenant_id", "runs.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "run_id", "tree_id"),
        Index(
            "uq_run_trees_one_apply_per_tree",
            "tenant_id",
            "tree_id",
            unique=True,
            postgresql_where=text("applying"),
        ),
        Index("ix_run_trees_tenant_id_tree_id", "tenant_id", "tree_id"),
    )


class RunCategory(Base):
    """A category as a run numbers it (`slot`), with its code and name at the time."""

    __tablename__ = "run_categories"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    category_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    path: Mapped[list[str]] = mapped_column(ARRAY(Text()))

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "run_id"], ["runs.tenant_id", "runs.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "run_id", "category_id"),
        CheckConstraint("slot >= 1", name="slot_positive"),
    )


class RunChunk(Base):
    """A chunk of a run that has been classified: written in the chunk's transaction, so
    a chunk retried after a crash sees it is done and is never counted twice."""

    __tablename__ = "run_chunks"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True)
    customers: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float]
    finished_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "run_id"], ["runs.tenant_id", "runs.id"], ondelete="CASCADE"
        ),
    )


class RunResult(Base):
    """One customer's outcome in every tree of a run, and the values it was read from."""

    __tablename__ = "run_results"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    outcome: Mapped[list[int]] = mapped_column(ARRAY(Integer()))
    attention: Mapped[int] = mapped_column(SmallInteger)
    nums: Mapped[list[Decimal | None] | None] = mapped_column(ARRAY(Numeric()))
    ints: Mapped[list[int | None] | None] = mapped_column(ARRAY(BigInteger()))
    dates: Mapped[list[date | None] | None] = mapped_column(ARRAY(Date()))
    texts: Mapped[list[str | None] | None] = mapped_column(ARRAY(Text()))
    bools: Mapped[list[bool | None] | None] = mapped_column(ARRAY(Boolean()))
    lists: Mapped[list[str | None] | None] = mapped_column(ARRAY(Text()))

    __table_args__ = (
        Index(
            "ix_run_results_attention",
            "tenant_id",
            "run_id",
            "customer_id",
            postgresql_where=text("attention <> 0"),
        ),
    )


class RunCutPoint(Base):
    """The cut points of a run's scores (ntile, rank_pct) for one tree, field and number
    of groups, computed over the run's population (its customers in scope with a value)
    before any chunk runs (app/rules/language/quantiles.py says what they mean). Chunks
    score by them; one customer reclassified later scores by the latest succeeded run's.
    """

    __tablename__ = "run_cut_points"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    tree_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    buckets: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    # c_2..c_k (k − 1 values), empty when no customer had a value
    cuts: Mapped[list[Decimal]] = mapped_column(ARRAY(Numeric()))
    population: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "run_id"], ["runs.tenant_id", "runs.id"], ondelete="CASCADE"
        ),
        CheckConstraint("buckets BETWEEN 2 AND 100", name="buckets_range"),
    )


class OutboxEvent(Base):
    """An event to tell the outside world about, written in the transaction that made it
    true (`run.completed`, `run.failed`, `customer.classification_changed`,
    `change_request.created`); delivered later by the outbound webhooks (app/deliveries).

    `txid` is the writing transaction's id. Ids are handed out before commit, so a reader
    moving past id n could miss a smaller id committed later; every transaction older
    than the oldest one still running has ended, so reading only below that horizon in
    (`txid`, `id`) order misses nothing.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    txid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("(pg_current_xact_id())::text::bigint")
    )

    __table_args__ = (
        Index("ix_outbox_tenant_id_id", "tenant_id", "id"),
        Index("ix_outbox_tenant_id_txid_id", "tenant_id", "txid", "id"),
    )
