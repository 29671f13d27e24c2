"""Schedules (定时运行): classification runs started by a cron expression, and each fire.

A schedule's `next_fire_at` is the one moment it is due; a worker that fires it moves
`next_fire_at` on (to the first cron time after *now*, so a schedule missed during a
downtime fires once, not once per missed time) and records the fire in `schedule_fires`,
whose key (schedule, fire time) the database holds unique: however many workers look at
the schedule at once, one fire per due time can exist, and with it one run.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TenantScoped, Timestamps, UUIDPrimaryKey, Versioned

SCHEDULE_MODES = ("apply", "dry_run")


class Schedule(UUIDPrimaryKey, TenantScoped, Timestamps, Versioned, Base):
    """A run to start whenever `cron` comes round in the tenant's time zone."""

    __tablename__ = "schedules"

    name: Mapped[str] = mapped_column(String(100))
    cron: Mapped[str] = mapped_column(String(100))
    # The zone `next_fire_at` was computed in: the tenant's then. A worker computes it
    # again when the tenant's zone has changed since.
    time_zone: Mapped[str] = mapped_column(String(64))
    # The run's trees (null: every tree with a published ruleset when it fires).
    tree_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(Uuid()))
    scope: Mapped[dict[str, Any]] = mapped_column(JSONB)
    mode: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(server_default="true")
    # When it is due next; null while disabled.
    next_fire_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(255))
    # The key that created or last changed it: its scheduled runs are audited under it.
    api_key_id: Mapped[uuid.UUID] = mapped_column(Uuid())

    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint("mode IN ('apply', 'dry_run')", name="mode_known"),
        CheckConstraint("enabled = (next_fire_at IS NOT NULL)", name="due_when_enabled"),
        Index("ix_schedules_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
        # The workers' question "which schedules are due?", across tenants.
        Index("ix_schedules_due", "next_fire_at", postgresql_where=text("enabled")),
    )


class ScheduleFire(Base):
    """A schedule fired for one due time: the run it started, or why it could not."""

    __tablename__ = "schedule_fires"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    schedule_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schedules.id", ondelete="CASCADE"), primary_key=True
    )
    fire_at: Mapped[datetime] = mapped_column(primary_key=True)
    fired_at: Mapped[datetime] = mapped_column(server_default=func.now())
    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
