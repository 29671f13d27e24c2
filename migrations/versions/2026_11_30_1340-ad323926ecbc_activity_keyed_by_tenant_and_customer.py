"""activity keyed by tenant and customer

Orders, interactions and complaints had two foreign keys, tenant_id → tenants and
customer_id → customers; each is a trigger and an index probe per inserted row. One
composite key (tenant_id, customer_id) → customers (tenant_id, id) says more (the customer
is the same tenant's) and costs one probe. It needs customers (tenant_id, id) unique.

Revision ID: ad323926ecbc
Revises: e19b105d6687
Create Date: 2026-11-30 13:40:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "ad323926ecbc"
down_revision: str | None = "e19b105d6687"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVITY = ("orders", "interactions", "complaints")


def upgrade() -> None:
    # cooperation_since rides along so that metrics over every customer read the
    # customers in id order from this index alone (an index-only scan).
    # (Alembic's create_unique_constraint cannot name an INCLUDE column it is not given.)
    op.execute(
        "ALTER TABLE customers ADD CONSTRAINT uq_customers_tenant_id_id"
        " UNIQUE (tenant_id, id) INCLUDE (cooperation_since)"
    )
    for table in ACTIVITY:
        op.drop_constraint(f"fk_{table}_customer_id_customers", table, type_="foreignkey")
        op.drop_constraint(f"fk_{table}_tenant_id_tenants", table, type_="foreignkey")
        op.create_foreign_key(
            f"fk_{table}_tenant_id_customers",
            table,
            "customers",
            ["tenant_id", "customer_id"],
            ["tenant_id", "id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    for table in ACTIVITY:
        op.drop_constraint(f"fk_{table}_tenant_id_customers", table, type_="foreignkey")
        op.create_foreign_key(
            f"fk_{table}_tenant_id_tenants", table, "tenants", ["tenant_id"], ["id"],
            ondelete="CASCADE",
        )  # fmt: skip
        op.create_foreign_key(
            f"fk_{table}_customer_id_customers", table, "customers", ["customer_id"], ["id"],
            ondelete="CASCADE",
        )  # fmt: skip
    op.drop_constraint("uq_customers_tenant_id_id", "customers", type_="unique")
