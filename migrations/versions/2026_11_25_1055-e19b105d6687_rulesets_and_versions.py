"""rulesets and versions

Revision ID: e19b105d6687
Revises: 6ee61910ec64
Create Date: 2026-11-25 10:55:36.652127+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e19b105d6687"
down_revision: str | None = "6ee61910ec64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rulesets",
        sa.Column("tree_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["tenant_id", "tree_id"],
            ["category_trees.tenant_id", "category_trees.id"],
            name=op.f("fk_rulesets_tenant_id_category_trees"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_rulesets_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rulesets")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_rulesets_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "tree_id", name=op.f("uq_rulesets_tenant_id_tree_id")),
    )
    op.create_index(
        "ix_rulesets_tenant_id_created_at_id",
        "rulesets",
        ["tenant_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "ruleset_versions",
        sa.Column("ruleset_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.String(length=255), nullable=True),
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
        sa.CheckConstraint(
            "(status = 'draft') = (published_at IS NULL)",
            name=op.f("ck_ruleset_versions_published_at_unless_draft"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'retired')",
            name=op.f("ck_ruleset_versions_status_known"),
        ),
        sa.CheckConstraint("number >= 1", name=op.f("ck_ruleset_versions_number_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "ruleset_id"],
            ["rulesets.tenant_id", "rulesets.id"],
            name=op.f("fk_ruleset_versions_tenant_id_rulesets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ruleset_versions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ruleset_versions")),
        sa.UniqueConstraint(
            "tenant_id",
            "ruleset_id",
            "number",
            name=op.f("uq_ruleset_versions_tenant_id_ruleset_id_number"),
        ),
    )
    op.create_index(
        "uq_ruleset_versions_one_published",
        "ruleset_versions",
        ["tenant_id", "ruleset_id"],
        unique=True,
        postgresql_where=sa.text("status = 'published'"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_ruleset_versions_one_published",
        table_name="ruleset_versions",
        postgresql_where=sa.text("status = 'published'"),
    )
    op.drop_table("ruleset_versions")
    op.drop_index("ix_rulesets_tenant_id_created_at_id", table_name="rulesets")
    op.drop_table("rulesets")
