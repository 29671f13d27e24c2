"""inbound webhooks: secrets, events, coalesced jobs

The tenant's inbound signing secret (and the previous one during a rotation), the
events received (once per webhook-id) with the customers each still has to reclassify,
and a dedupe key on jobs: at most one queued job per tenant, kind and key, so a burst
of events for one customer queues one reclassification.

Revision ID: ae3f1fdb7d31
Revises: 8182198e9664
Create Date: 2026-12-07 15:51:37.399195+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ae3f1fdb7d31"
down_revision: str | None = "8182198e9664"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_webhook_secrets",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("secret", sa.LargeBinary(length=64), nullable=False),
        sa.Column("previous_secret", sa.LargeBinary(length=64), nullable=True),
        sa.Column("previous_valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_key_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_inbound_webhook_secrets_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_inbound_webhook_secrets")),
    )
    op.create_table(
        "webhook_events",
        sa.Column("webhook_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="accepted", nullable=False),
        sa.Column("customers_pending", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "status IN ('accepted', 'processed', 'failed')",
            name=op.f("ck_webhook_events_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_webhook_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint(
            "tenant_id", "webhook_id", name=op.f("uq_webhook_events_tenant_id_webhook_id")
        ),
    )
    op.create_index(
        "ix_webhook_events_tenant_id_received_at_id",
        "webhook_events",
        ["tenant_id", "received_at", "id"],
        unique=False,
    )
    op.create_table(
        "webhook_event_customers",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_events.id"],
            name=op.f("fk_webhook_event_customers_event_id_webhook_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "event_id", "customer_id", name=op.f("pk_webhook_event_customers")
        ),
    )
    op.create_index(
        "ix_webhook_event_customers_pending",
        "webhook_event_customers",
        ["tenant_id", "customer_id"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.add_column("jobs", sa.Column("dedupe_key", sa.String(length=255), nullable=True))
    op.create_index(
        "ux_jobs_queued_dedupe_key",
        "jobs",
        ["tenant_id", "kind", "dedupe_key"],
        unique=True,
        postgresql_where=sa.text("status = 'queued' AND dedupe_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ux_jobs_queued_dedupe_key",
        table_name="jobs",
        postgresql_where=sa.text("status = 'queued' AND dedupe_key IS NOT NULL"),
    )
    op.drop_column("jobs", "dedupe_key")
    op.drop_index(
        "ix_webhook_event_customers_pending",
        table_name="webhook_event_customers",
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.drop_table("webhook_event_customers")
    op.drop_index("ix_webhook_events_tenant_id_received_at_id", table_name="webhook_events")
    op.drop_table("webhook_events")
    op.drop_table("inbound_webhook_secrets")
