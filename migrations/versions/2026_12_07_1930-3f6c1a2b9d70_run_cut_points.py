"""run cut points

The cut points of a run's population-relative scores (ntile, rank_pct) per tree, field
and number of groups.

Revision ID: 3f6c1a2b9d70
Revises: 3c1f0e9a7b21
Create Date: 2026-12-07 19:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3f6c1a2b9d70"
down_revision: str | None = "3c1f0e9a7b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_cut_points",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("tree_id", sa.Uuid(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("buckets", sa.SmallInteger(), nullable=False),
        sa.Column("cuts", postgresql.ARRAY(sa.Numeric()), nullable=False),
        sa.Column("population", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "buckets BETWEEN 2 AND 100", name=op.f("ck_run_cut_points_buckets_range")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "run_id"],
            ["runs.tenant_id", "runs.id"],
            name=op.f("fk_run_cut_points_tenant_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "run_id", "tree_id", "field", "buckets", name=op.f("pk_run_cut_points")
        ),
    )


def downgrade() -> None:
    op.drop_table("run_cut_points")
