"""facts visible to runs: fact_changes.txid and runs.started_snapshot

A write stamped in fact_changes before a run started may commit after the run read the
values; comparing times cannot tell. The stamp now records the writing transaction and
a run the PostgreSQL snapshot it started with: a preview from the run's values is stale
once a stamping transaction is not visible in that snapshot (app/facts/snapshots.py).

Revision ID: 8d4a6e1f2c57
Revises: 3f6c1a2b9d70
Create Date: 2026-12-07 23:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8d4a6e1f2c57"
down_revision: str | None = "3f6c1a2b9d70"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP_WITH_TRANSACTION = """
CREATE OR REPLACE FUNCTION fact_changes_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fact_changes (tenant_id, writer, changed_at, txid)
    SELECT c.tenant_id, pg_backend_pid(), clock_timestamp(),
           pg_current_xact_id()::text::bigint
    FROM (SELECT DISTINCT tenant_id FROM changed) AS c
    WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.id = c.tenant_id)
    ON CONFLICT (tenant_id, writer)
    DO UPDATE SET changed_at = excluded.changed_at, txid = excluded.txid;
    RETURN NULL;
END
$$
"""

STAMP_WITHOUT_TRANSACTION = """
CREATE OR REPLACE FUNCTION fact_changes_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
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


def upgrade() -> None:
    op.add_column(
        "fact_changes", sa.Column("txid", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column("runs", sa.Column("started_snapshot", sa.Text(), nullable=True))
    op.execute(STAMP_WITH_TRANSACTION)


def downgrade() -> None:
    op.execute(STAMP_WITHOUT_TRANSACTION)
    op.drop_column("runs", "started_snapshot")
    op.drop_column("fact_changes", "txid")
