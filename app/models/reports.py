"""Report exports rendered in the background (large CSV and XLSX files), and their bytes.

The file lives in the database in 1 MiB pieces, like an uploaded import: the API and the
worker may run on different machines, and nothing holds a whole file in memory.
"""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TenantScoped, UUIDPrimaryKey

EXPORT_FORMATS = ("csv", "xlsx", "pdf")


class ReportExport(UUIDPrimaryKey, TenantScoped, Base):
    """A run's report in a file format, rendered by the job `job_id`."""

    __tablename__ = "report_exports"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(8))
    parts: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(8))
    filename: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint("format IN ('csv', 'xlsx', 'pdf')", name="format_known"),
        Index("ix_report_exports_tenant_id_created_at", "tenant_id", "created_at"),
    )


class ReportExportChunk(Base):
    """A piece of an export's file, in order of `seq`."""

    __tablename__ = "report_export_chunks"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    export_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("report_exports.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
