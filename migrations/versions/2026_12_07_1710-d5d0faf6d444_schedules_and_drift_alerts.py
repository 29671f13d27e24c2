"""schedules and the runs they start; drift alerts

`schedules` (a cron expression in the tenant's zone, the run to start, `next_fire_at`)
and `schedule_fires`, one row per schedule and due time: its key is what lets any number
of workers fire a schedule without firing a due time twice. `runs.schedule_id` says
which schedule started a run (SET NULL when the schedule is deleted; the run stays).
`category_trees.drift_threshold_pp` (default 10) and `runs.drift`: an apply run that moves
a category's share by more than the threshold since the tree's previous apply run keeps
the drift.

Revision ID: d5d0faf6d444
Revises: ae3f1fdb7d31
Create Date: 2026-12-07 17:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d5d0faf6d444"
down_revision: str | None = "ae3f1fdb7d31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("cron", sa.String(length=100), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("tree_ids", postgresql.ARRAY(sa.Uuid()), nullable=True),
        sa.Column("scope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("next_fire_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("mode IN ('apply', 'dry_run')", name=op.f("ck_schedules_mode_known")),
        sa.CheckConstraint(
            "enabled = (next_fire_at IS NOT NULL)", name=op.f("ck_schedules_due_when_enabled")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_schedules_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_schedules_tenant_id_id")),
    )
    op.create_index(
        "ix_schedules_due",
        "schedules",
        ["next_fire_at"],
        unique=False,
        postgresql_where=sa.text("enabled"),
    )
    op.create_index(
        "ix_schedules_tenant_id_created_at_id",
        "schedules",
        ["tenant_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "schedule_fires",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("fire_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "fired_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("error", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_fires_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_schedule_fires_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "schedule_id", "fire_at", name=op.f("pk_schedule_fires")
        ),
    )
    op.add_column("runs", sa.Column("schedule_id", sa.Uuid(), nullable=True))
    op.create_index(
        "ix_runs_schedule_id_created_at_id",
        "runs",
        ["schedule_id", "created_at", "id"],
        unique=False,
        postgresql_where=sa.text("schedule_id IS NOT NULL"),
    )
    op.add_column(
        "runs", sa.Column("drift", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column(
        "category_trees",
        sa.Column("drift_threshold_pp", sa.Float(), server_default="10", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_category_trees_drift_threshold_range"),
        "category_trees",
        "drift_threshold_pp > 0 AND drift_threshold_pp <= 100",
    )
    op.create_foreign_key(
        op.f("fk_runs_schedule_id_schedules"),
        "runs",
        "schedules",
        ["schedule_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_category_trees_drift_threshold_range"), "category_trees", type_="check"
    )
    op.drop_column("category_trees", "drift_threshold_pp")
    op.drop_column("runs", "drift")
    op.drop_constraint(op.f("fk_runs_schedule_id_schedules"), "runs", type_="foreignkey")
    op.drop_index(
        "ix_runs_schedule_id_created_at_id",
        table_name="runs",
        postgresql_where=sa.text("schedule_id IS NOT NULL"),
    )
    op.drop_column("runs", "schedule_id")
    op.drop_table("schedule_fires")
    op.drop_index("ix_schedules_tenant_id_created_at_id", table_name="schedules")
    op.drop_index("ix_schedules_due", table_name="schedules", postgresql_where=sa.text("enabled"))
    op.drop_table("schedules")
