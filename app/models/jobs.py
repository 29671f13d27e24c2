"""Durable background jobs, and the imports that run as jobs."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TenantScoped, UUIDPrimaryKey

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


class Job(UUIDPrimaryKey, TenantScoped, Base):
    """A unit of background work, claimed by one worker at a time under a lease."""

    __tablename__ = "jobs"

    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    priority: Mapped[int] = mapped_column(Integer, server_default="100")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, server_default="3")
    run_after: Mapped[datetime] = mapped_column(server_default=func.now())
    lease_expires_at: Mapped[datetime | None]
    worker_id: Mapped[str | None] = mapped_column(String(128))
    cancel_requested: Mapped[bool] = mapped_column(server_default="false")
    progress_done: Mapped[int] = mapped_column(BigInteger, server_default="0")
    progress_total: Mapped[int | None] = mapped_column(BigInteger)
    # What a handler needs to resume after a crash (e.g. rows already imported).
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Work that must not be queued twice (one customer's reclassification): at most one
    # queued job per tenant, kind and key; a running one does not count, so what
    # arrives while it runs is queued again.
    dedupe_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name="status_known",
        ),
        # The claim query: runnable jobs in priority order (small: only unfinished rows).
        Index(
            "ix_jobs_claimable",
            "priority",
            "run_after",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
        Index("ix_jobs_tenant_id_created_at", "tenant_id", "created_at"),
        Index(
            "ux_jobs_queued_dedupe_key",
            "tenant_id",
            "kind",
            "dedupe_key",
            unique=True,
            postgresql_where=text("status = 'queued' AND dedupe_key IS NOT NULL"),
        ),
    )


class Import(UUIDPrimaryKey, TenantScoped, Base):
    """An uploaded CSV/XLSX file and what importing it did."""

    __tablename__ = "imports"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    dry_run: Mapped[bool] = mapped_column(server_default="false")
    total_rows: Mapped[int | None] = mapped_column(BigInteger)
    created: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated: Mapped[int] = mapped_column(BigInteger, server_default="0")
    failed: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint(
            "entity IN ('customers', 'orders', 'interactions', 'complaints')", name="entity_known"
        ),
        CheckConstraint("file_format IN ('csv', 'xlsx')", name="file_format_known"),
        Index("ix_imports_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )


class ImportChunk(Base):
    """The uploaded file in 1 MiB pieces, so nothing ever holds all of it in memory."""

    __tablename__ = "import_chunks"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportRowError(Base):
    """One problem with one cell (or row) of an imported file."""

    __tablename__ = "import_errors"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    import_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("imports.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(BigInteger)
    column: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(64))
    message_zh: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_import_errors_tenant_id_import_id_row", "tenant_id", "import_id", "row_number"),
    )
