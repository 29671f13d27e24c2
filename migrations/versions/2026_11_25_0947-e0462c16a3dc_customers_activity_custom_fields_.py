"""customers activity custom fields industries

Revision ID: e0462c16a3dc
Revises: 155cec140681
Create Date: 2026-11-25 09:47:33.855213+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e0462c16a3dc"
down_revision: str | None = "155cec140681"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Trigram index for text search on customer names (ILIKE '%…%').
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "custom_fields",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("label_zh", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("enum_values", postgresql.ARRAY(sa.String(length=100)), nullable=True),
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
            "key ~ '^[a-z][a-z0-9_]{0,63}$'", name=op.f("ck_custom_fields_key_format")
        ),
        sa.CheckConstraint(
            "type IN ('number', 'integer', 'date', 'string', 'enum', 'boolean', 'string_list')",
            name=op.f("ck_custom_fields_type_known"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_custom_fields_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_fields")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_custom_fields_tenant_id_key")),
    )
    op.create_table(
        "customers",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("industry", sa.String(length=100), nullable=True),
        sa.Column("employees", sa.Integer(), nullable=True),
        sa.Column("size", sa.String(length=8), nullable=True),
        sa.Column("annual_revenue", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("stage", sa.String(length=16), server_default="potential", nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("contact_name", sa.String(length=100), nullable=True),
        sa.Column("contact_title", sa.String(length=100), nullable=True),
        sa.Column("cooperation_since", sa.Date(), nullable=True),
        sa.Column(
            "tags", postgresql.ARRAY(sa.String(length=64)), server_default="{}", nullable=False
        ),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
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
            "size IN ('small', 'medium', 'large')", name=op.f("ck_customers_size_known")
        ),
        sa.CheckConstraint(
            "stage IN ('potential', 'signed')", name=op.f("ck_customers_stage_known")
        ),
        sa.CheckConstraint("employees >= 0", name=op.f("ck_customers_employees_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_customers_tenant_id_code")),
    )
    op.create_index(
        "ix_customers_name_trgm",
        "customers",
        ["name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_customers_tags", "customers", ["tags"], unique=False, postgresql_using="gin"
    )
    op.create_index(
        "ix_customers_tenant_id_created_at_id",
        "customers",
        ["tenant_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_customers_tenant_id_industry",
        "customers",
        ["tenant_id", "industry"],
        unique=False,
        postgresql_ops={"industry": "text_pattern_ops"},
    )
    op.create_index("ix_customers_tenant_id_uscc", "customers", ["tenant_id", "uscc"], unique=False)
    op.create_table(
        "industries",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_industries_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "code", name=op.f("pk_industries")),
    )
    op.create_table(
        "complaints",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("severity", sa.String(length=8), server_default="minor", nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
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
            "severity IN ('minor', 'major')", name=op.f("ck_complaints_severity_known")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_complaints_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_complaints_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint(
            "tenant_id", "external_id", name=op.f("uq_complaints_tenant_id_external_id")
        ),
    )
    op.create_index(
        "ix_complaints_tenant_id_customer_id_occurred_on",
        "complaints",
        ["tenant_id", "customer_id", "occurred_on"],
        unique=False,
        postgresql_include=["severity"],
    )
    op.create_table(
        "customer_aliases",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_aliases_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customer_aliases_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "code", name=op.f("pk_customer_aliases")),
    )
    op.create_index(
        op.f("ix_customer_aliases_customer_id"), "customer_aliases", ["customer_id"], unique=False
    )
    op.create_table(
        "interactions",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), server_default="other", nullable=False),
        sa.Column("direction", sa.String(length=8), server_default="outbound", nullable=False),
        sa.Column("replied", sa.Boolean(), nullable=True),
        sa.Column("is_inquiry", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
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
            "channel IN ('phone', 'visit', 'email', 'wechat', 'meeting', 'online', 'other')",
            name=op.f("ck_interactions_channel_known"),
        ),
        sa.CheckConstraint(
            "direction IN ('inbound', 'outbound')", name=op.f("ck_interactions_direction_known")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_interactions_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_interactions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
        sa.UniqueConstraint(
            "tenant_id", "external_id", name=op.f("uq_interactions_tenant_id_external_id")
        ),
    )
    op.create_index(
        "ix_interactions_tenant_id_customer_id_occurred_on",
        "interactions",
        ["tenant_id", "customer_id", "occurred_on"],
        unique=False,
        postgresql_include=["direction", "replied", "is_inquiry"],
    )
    op.create_table(
        "orders",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ordered_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="completed", nullable=False),
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
            "status IN ('pending', 'paid', 'completed', 'cancelled', 'refunded')",
            name=op.f("ck_orders_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_orders_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_orders_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint(
            "tenant_id", "external_id", name=op.f("uq_orders_tenant_id_external_id")
        ),
    )
    op.create_index(
        "ix_orders_tenant_id_customer_id_ordered_on",
        "orders",
        ["tenant_id", "customer_id", "ordered_on"],
        unique=False,
        postgresql_include=["amount", "status"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_orders_tenant_id_customer_id_ordered_on",
        table_name="orders",
        postgresql_include=["amount", "status"],
    )
    op.drop_table("orders")
    op.drop_index(
        "ix_interactions_tenant_id_customer_id_occurred_on",
        table_name="interactions",
        postgresql_include=["direction", "replied", "is_inquiry"],
    )
    op.drop_table("interactions")
    op.drop_index(op.f("ix_customer_aliases_customer_id"), table_name="customer_aliases")
    op.drop_table("customer_aliases")
    op.drop_index(
        "ix_complaints_tenant_id_customer_id_occurred_on",
        table_name="complaints",
        postgresql_include=["severity"],
    )
    op.drop_table("complaints")
    op.drop_table("industries")
    op.drop_index("ix_customers_tenant_id_uscc", table_name="customers")
    op.drop_index("ix_customers_tenant_id_industry", table_name="customers")
    op.drop_index("ix_customers_tenant_id_created_at_id", table_name="customers")
    op.drop_index("ix_customers_tags", table_name="customers", postgresql_using="gin")
    op.drop_index("ix_customers_name_trgm", table_name="customers", postgresql_using="gin")
    op.drop_table("customers")
    op.drop_table("custom_fields")
