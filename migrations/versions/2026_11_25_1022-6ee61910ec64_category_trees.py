"""category trees: categories, assignments with history, change requests

Revision ID: 6ee61910ec64
Revises: 44de6f50ffb5
Create Date: 2026-11-25 10:22:16.047079+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "6ee61910ec64"
down_revision: str | None = "44de6f50ffb5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "category_trees",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=True),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("max_depth", sa.SmallInteger(), server_default="3", nullable=False),
        sa.Column("requires_approval", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("multi_assign", sa.Boolean(), server_default="false", nullable=False),
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
            "max_depth BETWEEN 1 AND 6", name=op.f("ck_category_trees_max_depth_range")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_category_trees_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category_trees")),
        sa.UniqueConstraint(
            "tenant_id",
            "id",
            "multi_assign",
            name=op.f("uq_category_trees_tenant_id_id_multi_assign"),
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_category_trees_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_category_trees_tenant_id_key")),
    )
    op.create_index(
        "ix_category_trees_tenant_id_created_at_id",
        "category_trees",
        ["tenant_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "categories",
        sa.Column("tree_id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=True),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("path", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("applies_to", sa.String(length=16), server_default="all", nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("sort_order", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("next_action", sa.String(length=500), nullable=True),
        sa.Column("owner_role", sa.String(length=100), nullable=True),
        sa.Column("sla_days", sa.SmallInteger(), nullable=True),
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
            "NOT is_default OR (parent_id IS NULL AND applies_to = 'all')",
            name=op.f("ck_categories_default_is_a_root_for_all"),
        ),
        sa.CheckConstraint(
            "applies_to IN ('all', 'signed', 'potential')",
            name=op.f("ck_categories_applies_to_known"),
        ),
        sa.CheckConstraint(
            "(parent_id IS NULL) = (level = 1)", name=op.f("ck_categories_roots_have_no_parent")
        ),
        sa.CheckConstraint(
            "cardinality(path) = level AND path[level] = id",
            name=op.f("ck_categories_path_matches_level"),
        ),
        sa.CheckConstraint("level BETWEEN 1 AND 6", name=op.f("ck_categories_level_range")),
        sa.CheckConstraint("sla_days >= 0", name=op.f("ck_categories_sla_days_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "tree_id", "parent_id"],
            ["categories.tenant_id", "categories.tree_id", "categories.id"],
            name="fk_categories_parent_id_categories",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "tree_id"],
            ["category_trees.tenant_id", "category_trees.id"],
            name=op.f("fk_categories_tenant_id_category_trees"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_categories_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint(
            "tenant_id", "tree_id", "code", name=op.f("uq_categories_tenant_id_tree_id_code")
        ),
        sa.UniqueConstraint(
            "tenant_id", "tree_id", "id", name=op.f("uq_categories_tenant_id_tree_id_id")
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "tree_id",
            "parent_id",
            "name",
            name=op.f("uq_categories_tenant_id_tree_id_parent_id_name"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(
        "uq_categories_one_default_per_tree",
        "categories",
        ["tenant_id", "tree_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "assignments",
        sa.Column("tree_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("category_id", sa.Uuid(), nullable=False),
        sa.Column("multi", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("locked", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("assigned_by", sa.String(length=255), nullable=False),
        sa.Column(
            "assigned_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
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
            "source IN ('manual', 'rule', 'import', 'reassign')",
            name=op.f("ck_assignments_source_known"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_assignments_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "tree_id", "category_id"],
            ["categories.tenant_id", "categories.tree_id", "categories.id"],
            name="fk_assignments_category_id_categories",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "tree_id", "multi"],
            ["category_trees.tenant_id", "category_trees.id", "category_trees.multi_assign"],
            name="fk_assignments_tree_id_category_trees",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_assignments_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint(
            "tenant_id",
            "tree_id",
            "customer_id",
            "category_id",
            name=op.f("uq_assignments_tenant_id_tree_id_customer_id_category_id"),
        ),
    )
    op.create_index(
        "ix_assignments_tenant_id_category_id_customer_id",
        "assignments",
        ["tenant_id", "category_id", "customer_id"],
        unique=False,
    )
    op.create_index(
        "ix_assignments_tenant_id_customer_id",
        "assignments",
        ["tenant_id", "customer_id"],
        unique=False,
    )
    op.create_index(
        "uq_assignments_one_per_customer_unless_multi",
        "assignments",
        ["tenant_id", "tree_id", "customer_id"],
        unique=True,
        postgresql_where=sa.text("NOT multi"),
    )
    op.create_table(
        "assignment_history",
        sa.Column("tree_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("from_category_id", sa.Uuid(), nullable=True),
        sa.Column("from_code", sa.String(length=64), nullable=True),
        sa.Column("from_name", sa.String(length=100), nullable=True),
        sa.Column("to_category_id", sa.Uuid(), nullable=True),
        sa.Column("to_code", sa.String(length=64), nullable=True),
        sa.Column("to_name", sa.String(length=100), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "source IN ('manual', 'rule', 'import', 'reassign')",
            name=op.f("ck_assignment_history_source_known"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_assignment_history_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "tree_id"],
            ["category_trees.tenant_id", "category_trees.id"],
            name=op.f("fk_assignment_history_tenant_id_category_trees"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_assignment_history_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_history")),
    )
    op.create_index(
        "ix_assignment_history_tenant_id_customer_id_at_id",
        "assignment_history",
        ["tenant_id", "customer_id", "at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_assignment_history_tenant_id_tree_id",
        "assignment_history",
        ["tenant_id", "tree_id"],
        unique=False,
    )
    op.create_table(
        "change_requests",
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("tree_id", sa.Uuid(), nullable=True),
        sa.Column("target_id", sa.Uuid(), nullable=True),
        sa.Column("target_version", sa.Integer(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("diff", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("submitted_by", sa.String(length=255), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
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
        sa.CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)",
            name=op.f("ck_change_requests_decided_unless_pending"),
        ),
        sa.CheckConstraint(
            "status <> 'rejected' OR reason IS NOT NULL",
            name=op.f("ck_change_requests_rejected_with_reason"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')",
            name=op.f("ck_change_requests_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "tree_id"],
            ["category_trees.tenant_id", "category_trees.id"],
            name=op.f("fk_change_requests_tenant_id_category_trees"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_change_requests_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_requests")),
    )
    op.create_index(
        "ix_change_requests_tenant_id_created_at_id",
        "change_requests",
        ["tenant_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_change_requests_tenant_id_status_created_at",
        "change_requests",
        ["tenant_id", "status", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_change_requests_tenant_id_tree_id",
        "change_requests",
        ["tenant_id", "tree_id"],
        unique=False,
    )


def downgrade() -> None:
    # Indexes and constraints go with their tables; dependants first.
    op.drop_table("change_requests")
    op.drop_table("assignment_history")
    op.drop_table("assignments")
    op.drop_table("categories")
    op.drop_table("category_trees")
