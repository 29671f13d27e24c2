"""apply tables: lighter keys, time-ordered ids

A first apply at 1M customers writes 4M assignments and 4M history rows; each paid a
foreign-key check per key and an insert at a random leaf of its primary-key index:

- `assignments` and `assignment_history` lose their own key to `tenants`: the composite
  keys to the tenant's tree and category imply the tenant exists;
- their key to `customers` becomes (tenant_id, customer_id) → customers (tenant_id, id):
  the same one check per row, and now the customer is the same tenant's (what a
  distributed PostgreSQL needs too, docs/scaling.md);
- their ids become UUIDv7 (time first), so a bulk insert appends to the primary-key
  index. PostgreSQL 18 has `uuidv7()`; on older servers this migration defines one in
  `public` (a random UUID with the Unix time in milliseconds in its first 48 bits and
  the version bits set to 7, RFC 9562), which PostgreSQL 18's built-in one shadows.

Revision ID: 3c1f0e9a7b21
Revises: 5b7e2c9d41f3
Create Date: 2026-12-07 19:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c1f0e9a7b21"
down_revision: str | None = "5b7e2c9d41f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UUIDV7 = """
DO $$
BEGIN
    IF current_setting('server_version_num')::int < 180000 THEN
        CREATE OR REPLACE FUNCTION public.uuidv7() RETURNS uuid
        LANGUAGE sql VOLATILE PARALLEL SAFE AS $f$
            SELECT encode(
                set_bit(
                    set_bit(
                        overlay(
                            uuid_send(gen_random_uuid())
                            PLACING substring(
                                int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                                FROM 3
                            )
                            FROM 1 FOR 6
                        ),
                        52, 1
                    ),
                    53, 1
                ),
                'hex'
            )::uuid
        $f$;
    END IF;
END
$$;
"""

_TABLES = ("assignments", "assignment_history")


def upgrade() -> None:
    op.execute(_UUIDV7)
    for table in _TABLES:
        op.drop_constraint(f"fk_{table}_tenant_id_tenants", table, type_="foreignkey")
        op.drop_constraint(f"fk_{table}_customer_id_customers", table, type_="foreignkey")
        op.create_foreign_key(
            f"fk_{table}_tenant_id_customers",
            table,
            "customers",
            ["tenant_id", "customer_id"],
            ["tenant_id", "id"],
            ondelete="CASCADE",
        )
        op.alter_column(table, "id", server_default=sa.text("uuidv7()"))


def downgrade() -> None:
    for table in _TABLES:
        op.alter_column(table, "id", server_default=sa.text("gen_random_uuid()"))
        op.drop_constraint(f"fk_{table}_tenant_id_customers", table, type_="foreignkey")
        op.create_foreign_key(
            f"fk_{table}_customer_id_customers",
            table,
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="CASCADE",
        )
        op.create_foreign_key(
            f"fk_{table}_tenant_id_tenants",
            table,
            "tenants",
            ["tenant_id"],
            ["id"],
            ondelete="CASCADE",
        )
    # Only the one this migration made (PostgreSQL 18's lives in pg_catalog).
    op.execute("DROP FUNCTION IF EXISTS public.uuidv7()")
