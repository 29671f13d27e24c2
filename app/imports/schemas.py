"""Imports as the API shows them."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from typing_extensions import TypeAliasType

from app.imports.columns import ImportEntity

ImportStatus = TypeAliasType(
    "ImportStatus", Literal["queued", "running", "succeeded", "failed", "cancelled"]
)
ImportFileFormat = TypeAliasType("ImportFileFormat", Literal["csv", "xlsx"])
ImportReportFormat = TypeAliasType("ImportReportFormat", Literal["json", "xlsx"])
TemplateFormat = TypeAliasType("TemplateFormat", Literal["xlsx", "csv"])
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


class ImportProgress(BaseModel):
    """Rows read so far, and how many the file has (an estimate until it is finished)."""

    done: int
    total: int | None


class ImportCounts(BaseModel):
    """What importing did (or, for a dry run, would do)."""

    rows: int | None = Field(description="Data rows in the file (known when finished)")
    created: int
    updated: int
    failed: int = Field(description="Rows not imported; see `errors`")


class ImportRowErrorOut(BaseModel):
    """One problem with a row: its number as Excel shows it (the header is row 1)."""

    row: int = Field(examples=[7])
    column: str | None = Field(examples=["订单金额"])
    value: str | None = Field(examples=["12.5万元整"])
    code: str = Field(examples=["invalid_amount"])
    message: str = Field(examples=["无法识别的金额:'12.5万元整'"])


class ImportFailure(BaseModel):
    """Why the file as a whole could not be imported."""

    code: str = Field(examples=["missing_column"])
    message: str


class ImportSummary(BaseModel):
    """An import and its state."""

    id: uuid.UUID
    status: ImportStatus
    entity: ImportEntity
    filename: str
    file_format: ImportFileFormat
    size_bytes: int
    dry_run: bool
    progress: ImportProgress
    counts: ImportCounts
    failure: ImportFailure | None = Field(
        description="Set when the file as a whole could not be imported"
    )
    created_by: str
    created_at: datetime
    finished_at: datetime | None


class ImportOut(ImportSummary):
    """An import with the first 100 row errors (the full list: `?format=xlsx`)."""

    error_count: int
    errors: list[ImportRowErrorOut]


_SUMMARY_EXAMPLE: dict[str, Any] = {
    "id": "0b7c9a52-3f1e-4d2a-9c8b-6e5f4a3b2c1d",
    "status": "succeeded",
    "entity": "orders",
    "filename": "订单导入.csv",
    "file_format": "csv",
    "size_bytes": 48213,
    "dry_run": False,
    "progress": {"done": 1000, "total": 1000},
    "counts": {"rows": 1000, "created": 990, "updated": 8, "failed": 2},
    "failure": None,
    "created_by": "key:3f9a2b7c1d0e",
    "created_at": "2026-11-25T10:00:00+08:00",
    "finished_at": "2026-11-25T10:00:02+08:00",
}
IMPORT_EXAMPLE: dict[str, Any] = {
    **_SUMMARY_EXAMPLE,
    "error_count": 2,
    "errors": [
        {
            "row": 7,
            "column": "订单金额",
            "value": "十二万",
            "code": "invalid_amount",
            "message": "无法识别的金额:'十二万'",
        },
        {
            "row": 12,
            "column": "客户编号",
            "value": "C999",
            "code": "unknown_customer",
            "message": "客户编号 C999 不存在",
        },
    ],
}
QUEUED_EXAMPLE: dict[str, Any] = {
    **_SUMMARY_EXAMPLE,
    "status": "queued",
    "progress": {"done": 0, "total": None},
    "counts": {"rows": None, "created": 0, "updated": 0, "failed": 0},
    "finished_at": None,
    "error_count": 0,
    "errors": [],
}
LIST_EXAMPLE: dict[str, Any] = {"items": [_SUMMARY_EXAMPLE], "next_cursor": None}
UPLOAD_EXAMPLE: dict[str, Any] = {
    "entity": "orders",
    "filename": "订单导入.csv",
    "dry_run": True,
    "content_base64": "6K6i5Y2V57yW5Y+3LOWuouaIt+e8luWPtyzorqLljZXph5Hpop0s5LiL5Y2V5pel5pyfClNPLTEs"
    "QzAwMDEyMywiwqUxMjUsMDAwIiwyMDI05bm0M+aciDXml6UK",
}
