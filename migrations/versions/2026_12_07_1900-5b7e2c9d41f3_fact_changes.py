"""fact_changes: when each tenant's activity or customer profiles last changed

Statement triggers on customers, orders, interactions and complaints stamp the row of
the tenant and the writing backend (`pg_backend_pid()`), so a preview can tell whether
a run's snapshot of values is older than the newest change (app/facts/changes.py).
One row per backend: concurrent writers of a tenant never wait on one row's lock. A
tenant being deleted is skipped (its row is gone before the cascade reaches the
activity, and the foreign key would refuse the stamp).

Revision ID: 5b7e2c9d41f3
Revises: 72309c550de3
Create Date: 2026-12-07 19:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b7e2c9d41f3"
down_revision: str | None = "72309c550de3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("customers", "orders", "interactions", "complaints")
EVENTS = (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD"))

STAMP_FUNCTION = """
CREATE FUNCTION fact_changes_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fact_changes (tenant_id, writer, changed_at)
    SELECT c.tenant_id, pg_backend_pid(), clock_timestamp()
    FROM (SELECT DISTINCT tenant_id FROM changed) AS c
    WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.id = c.tenant_id)
    ON CONFLICT (tenant_id, writer) DO UPDATE SET changed_at = excluded.changed_at;
    RETURN NULL;
END
$$
"""


def _trigger(table: str, event: str) -> str:
    return f"{table}_stamps_fact_changes_on_{event}"


def upgrade() -> None:
    op.create_table(
        "fact_changes",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("writer", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_fact_changes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "writer", name=op.f("pk_fact_changes")),
    )
    op.execute(STAMP_FUNCTION)
    for table in TABLES:
        for event, image in EVENTS:
            op.execute(
                f"CREATE TRIGGER {_trigger(table, event)} AFTER {event.upper()} ON {table} "
                f"REFERENCING {image} TABLE AS changed "
                "FOR EACH STATEMENT EXECUTE FUNCTION fact_changes_stamp()"
            )


def downgrade() -> None:
    for table in TABLES:
        for event, _ in EVENTS:
            op.execute(f"DROP TRIGGER {_trigger(table, event)} ON {table}")
    op.execute("DROP FUNCTION fact_changes_stamp()")
    op.drop_table("fact_changes")
