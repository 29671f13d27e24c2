"""classification runs and the outbox

Runs with the trees and ruleset versions they use (an apply run holds its trees: a
partial unique index lets one run per tree apply), the categories numbered per run, one
result row per customer and run (every tree's outcome and a typed snapshot of the values),
and the outbox. History rows name the rule that made a change; assignment sources gain
`run`, `manual_reclassify` and `webhook`. Downgrading fails while rows use the new
sources.

Revision ID: 7b1e2c3d4f50
Revises: ad323926ecbc
Create Date: 2026-12-07 13:04:55.748473+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7b1e2c3d4f50"
down_revision: str | None = "ad323926ecbc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OLD_SOURCES = "source IN ('manual', 'rule', 'import', 'reassign')"
NEW_SOURCES = (
    "source IN ('manual', 'rule', 'import', 'reassign', 'run', 'manual_reclassify', 'webhook')"
)


def _sources(check: str) -> None:
    for table in ("assignments", "assignment_history"):
        op.drop_constraint(op.f(f"ck_{table}_source_known"), table, type_="check")
        op.create_check_constraint(op.f(f"ck_{table}_source_known"), table, check)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_tenant_id_id", "outbox", ["tenant_id", "id"], unique=False)
    op.create_table(
        "run_results",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", postgresql.ARRAY(sa.SmallInteger()), nullable=False),
        sa.Column("attention", sa.SmallInteger(), nullable=False),
        sa.Column("nums", postgresql.ARRAY(sa.Numeric()), nullable=True),
        sa.Column("ints", postgresql.ARRAY(sa.BigInteger()), nullable=True),
        sa.Column("dates", postgresql.ARRAY(sa.Date()), nullable=True),
        sa.Column("texts", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("bools", postgresql.ARRAY(sa.Boolean()), nullable=True),
        sa.Column("lists", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "run_id", "customer_id", name=op.f("pk_run_results")),
    )
    op.create_index(
        "ix_run_results_attention",
        "run_results",
        ["tenant_id", "run_id", "customer_id"],
        unique=False,
        postgresql_where=sa.text("attention <> 0"),
    )
    op.create_table(
        "runs",
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("scope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "fields", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("done", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("chunks_total", sa.Integer(), nullable=True),
        sa.Column("chunks_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "timings", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("error", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("waiting_for", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("mode IN ('apply', 'dry_run')", name=op.f("ck_runs_mode_known")),
        sa.CheckConstraint(
            "status IN ('queued', 'waiting', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_runs_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_runs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_runs_tenant_id_id")),
    )
    op.create_index(
        "ix_runs_tenant_id_created_at_id", "runs", ["tenant_id", "created_at", "id"], unique=False
    )
    op.create_index("ix_runs_tenant_id_status", "runs", ["tenant_id", "status"], unique=False)
    op.create_table(
        "run_categories",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("category_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("path", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.CheckConstraint("slot >= 1", name=op.f("ck_run_categories_slot_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "run_id"],
            ["runs.tenant_id", "runs.id"],
            name=op.f("fk_run_categories_tenant_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "run_id", "slot", name=op.f("pk_run_categories")),
        sa.UniqueConstraint(
            "tenant_id",
            "run_id",
            "category_id",
            name=op.f("uq_run_categories_tenant_id_run_id_category_id"),
        ),
    )
    op.create_table(
        "run_chunks",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column(
            "finished_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "run_id"],
            ["runs.tenant_id", "runs.id"],
            name=op.f("fk_run_chunks_tenant_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "run_id", "chunk", name=op.f("pk_run_chunks")),
    )
    op.create_table(
        "run_trees",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("tree_id", sa.Uuid(), nullable=False),
        sa.Column("ruleset_id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("applying", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "run_id"],
            ["runs.tenant_id", "runs.id"],
            name=op.f("fk_run_trees_tenant_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "run_id", "position", name=op.f("pk_run_trees")),
        sa.UniqueConstraint(
            "tenant_id", "run_id", "tree_id", name=op.f("uq_run_trees_tenant_id_run_id_tree_id")
        ),
    )
    op.create_index(
        "ix_run_trees_tenant_id_tree_id", "run_trees", ["tenant_id", "tree_id"], unique=False
    )
    op.create_index(
        "uq_run_trees_one_apply_per_tree",
        "run_trees",
        ["tenant_id", "tree_id"],
        unique=True,
        postgresql_where=sa.text("applying"),
    )
    op.add_column("assignment_history", sa.Column("rule_key", sa.String(length=64), nullable=True))
    op.alter_column(
        "assignment_history",
        "source",
        existing_type=sa.VARCHAR(length=16),
        type_=sa.String(length=20),
        existing_nullable=False,
    )
    op.alter_column(
        "assignments",
        "source",
        existing_type=sa.VARCHAR(length=16),
        type_=sa.String(length=20),
        existing_nullable=False,
    )
    _sources(NEW_SOURCES)


def downgrade() -> None:
    _sources(OLD_SOURCES)
    op.alter_column(
        "assignments",
        "source",
        existing_type=sa.String(length=20),
        type_=sa.VARCHAR(length=16),
        existing_nullable=False,
    )
    op.alter_column(
        "assignment_history",
        "source",
        existing_type=sa.String(length=20),
        type_=sa.VARCHAR(length=16),
        existing_nullable=False,
    )
    op.drop_column("assignment_history", "rule_key")
    op.drop_index(
        "uq_run_trees_one_apply_per_tree",
        table_name="run_trees",
        postgresql_where=sa.text("applying"),
    )
    op.drop_index("ix_run_trees_tenant_id_tree_id", table_name="run_trees")
    op.drop_table("run_trees")
    op.drop_table("run_chunks")
    op.drop_table("run_categories")
    op.drop_index("ix_runs_tenant_id_status", table_name="runs")
    op.drop_index("ix_runs_tenant_id_created_at_id", table_name="runs")
    op.drop_table("runs")
    op.drop_index(
        "ix_run_results_attention",
        table_name="run_results",
        postgresql_where=sa.text("attention <> 0"),
    )
    op.drop_table("run_results")
    op.drop_index("ix_outbox_tenant_id_id", table_name="outbox")
    op.drop_table("outbox")
