"""Outbound webhooks: endpoints that subscribe to outbox events, and their deliveries.

The outbox (app/models/runs.py `OutboxEvent`) is read per tenant past a durable
position (`webhook_dispatch_positions`); each event an enabled endpoint subscribes to
becomes one delivery row, and every attempt to send it one attempt row.
"""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TenantScoped, Timestamps, UUIDPrimaryKey, Versioned

WEBHOOK_EVENT_TYPES = (
    "customer.classification_changed",
    "run.completed",
    "run.failed",
    "run.drift_detected",
    "change_request.created",
)
DELIVERY_STATUSES = ("pending", "succeeded", "failed")


class WebhookEndpoint(UUIDPrimaryKey, TenantScoped, Timestamps, Versioned, Base):
    """A URL that receives the tenant's events of `event_types`, signed with `secret`."""

    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    enabled: Mapped[bool] = mapped_column(server_default="true")
    # Why it is disabled when the service disabled it (a 410 from the receiver).
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # `whsec_` + base64: the Standard Webhooks signing secret. Kept, since every
    # delivery is signed with it; shown to the caller only when the endpoint is created.
    secret: Mapped[str] = mapped_column(String(100))
    # PostgreSQL's snapshot when it was created enabled or last enabled: it receives the
    # events of transactions not visible in it, so none committed while it was off.
    listening_snapshot: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("cardinality(event_types) >= 1", name="event_types_not_empty"),
        Index("ix_webhook_endpoints_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )


class WebhookDelivery(UUIDPrimaryKey, TenantScoped, Base):
    """One outbox event for one endpoint: pending until an attempt succeeds or the
    retries run out (or the endpoint answers 410)."""

    __tablename__ = "webhook_deliveries"

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    # The outbox event (no foreign key: runs prune nothing of the outbox, and the
    # insert of a big run's deliveries should not probe an index per row).
    event_id: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(64))
    # Deliveries of one customer's events to one endpoint go out in event order.
    customer_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    # Attempts since the delivery was (re)queued; picks the next backoff step.
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # A sender holds the delivery until then; after a crash another one takes it over.
    claimed_until: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("tenant_id", "endpoint_id", "event_id"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status_known"),
        # What a sender takes next: pending deliveries of an endpoint in the order they
        # are claimed (due time, then event), so a claim reads the first few entries only.
        Index(
            "ix_webhook_deliveries_endpoint_id_next_attempt_at_event_id",
            "endpoint_id",
            "next_attempt_at",
            "event_id",
            postgresql_where=text("status = 'pending'"),
        ),
        # Whether an earlier event of the same customer is still pending (order).
        Index(
            "ix_webhook_deliveries_endpoint_id_customer_id_event_id",
            "endpoint_id",
            "customer_id",
            "event_id",
            postgresql_where=text("status = 'pending'"),
        ),
    )


class WebhookAttempt(Base):
    """One HTTP request of a delivery: when, the answer's status, how long, what failed."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_webhook_attempts_delivery_id_id", "delivery_id", "id"),)


class WebhookDispatchPosition(Base):
    """How far a tenant's outbox has been turned into deliveries: every event up to
    (`txid`, `event_id`), in the order of the transactions that wrote them."""

    __tablename__ = "webhook_dispatch_positions"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    txid: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
