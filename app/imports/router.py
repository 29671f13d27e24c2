"""Imports of CSV/XLSX files: templates, upload, progress and the per-row report."""

import re
import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.core.auth import EditorKey, ViewerKey
from app.core.deps import Session
from app.core.idempotency import IdempotencyDep
from app.core.openapi import documented, header_refs, raw_json_body
from app.core.pagination import Page, PageQuery
from app.core.routing import ApiRoute
from app.core.tempfiles import stream_and_delete
from app.imports import service
from app.imports.columns import SPECS, ImportEntity
from app.imports.report import write_error_report
from app.imports.schemas import (
    CSV_MEDIA_TYPE,
    IMPORT_EXAMPLE,
    LIST_EXAMPLE,
    QUEUED_EXAMPLE,
    UPLOAD_EXAMPLE,
    XLSX_MEDIA_TYPE,
    ImportOut,
    ImportReportFormat,
    ImportSummary,
    TemplateFormat,
)
from app.imports.templates import template_csv, template_filename, template_workbook
from app.imports.upload import ImportUpload, receive_upload

router = APIRouter(prefix="/api/v1/imports", tags=["imports"], route_class=ApiRoute)

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_MULTIPART_SCHEMA = {
    "type": "object",
    "required": ["file", "entity"],
    "additionalProperties": False,
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "The CSV or XLSX file"},
        "entity": {"$ref": "#/components/schemas/ImportEntity"},
        "dry_run": {"type": "boolean", "default": False, "description": "Only validate"},
    },
}


def _attachment(filename: str) -> dict[str, str]:
    # RFC 6266: an ASCII fallback plus the UTF-8 name for the Chinese file names.
    fallback = re.sub(r'[?"\\]', "_", filename.encode("ascii", "replace").decode())
    return {
        "Content-Disposition": f'attachment; filename="{fallback}"; '
        f"filename*=UTF-8''{quote(filename)}"
    }


def _create_docs() -> dict[str, Any]:
    kwargs = documented(
        "createImport",
        "Upload a CSV or XLSX file to import",
        status_code=202,
        example=QUEUED_EXAMPLE,
        request_example=UPLOAD_EXAMPLE,
        errors=[400],
        headers=["Idempotent-Replayed"],
    )
    kwargs["openapi_extra"]["requestBody"] = {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": _MULTIPART_SCHEMA},
            "application/json": raw_json_body(ImportUpload, UPLOAD_EXAMPLE)["content"][
                "application/json"
            ],
        },
    }
    return kwargs


@router.get(
    "/templates/{entity}",
    response_class=Response,
    **documented(
        "getImportTemplate",
        "Download an import template",
        responses={
            200: {
                "description": "An XLSX workbook, or with `format=csv` a CSV file",
                "content": {
                    XLSX_MEDIA_TYPE: {**_BINARY, "example": "(XLSX workbook)"},
                    CSV_MEDIA_TYPE.split(";")[0]: _BINARY,
                },
                "headers": header_refs("Content-Disposition"),
            }
        },
    ),
)
async def get_import_template(
    principal: ViewerKey,
    entity: ImportEntity,
    format: Annotated[
        TemplateFormat,
        Query(description="xlsx (default), or csv: UTF-8 with a byte-order mark"),
    ] = "xlsx",
) -> Response:
    """An XLSX template for `entity` with the Chinese headers of the 客户智能分类模板
    (客户编号, 客户名称, 所属行业 …), an example row, drop-downs for enum columns and a 说明
    sheet with the accepted formats; with `format=csv` the headers and the example row
    as CSV. English field names and common synonyms are accepted as headers too."""
    spec = SPECS[entity]
    if format == "csv":
        content = await run_in_threadpool(template_csv, entity)
        return Response(
            content,
            media_type=CSV_MEDIA_TYPE,
            headers=_attachment(template_filename(spec, "csv")),
        )
    return Response(
        await run_in_threadpool(template_workbook, entity),
        media_type=XLSX_MEDIA_TYPE,
        headers=_attachment(template_filename(spec)),
    )


@router.post("", response_model=ImportOut, **_create_docs())
async def create_import(
    principal: EditorKey, session: Session, request: Request, idempotency: IdempotencyDep
) -> Response:
    """Upload a file (`multipart/form-data`: `file`, `entity`, `dry_run`) and import it
    in the background; poll `GET /api/v1/imports/{id}`. CSV (UTF-8 or GB18030) and XLSX
    are recognised by content and extension. With `dry_run` nothing is written, and the
    report says exactly what importing would do. Honours `Idempotency-Key`: a retry of the
    same file replays the first answer instead of importing again."""
    # A savepoint around the upload: a replayed request must leave no second import.
    savepoint = await session.begin_nested()
    pending = await service.start_import(session, principal)
    settings = request.app.state.settings
    upload = await receive_upload(
        request, pending.store_chunk, max_json_bytes=settings.max_body_bytes
    )
    if (replayed := await idempotency.replay(principal, upload.fingerprint())) is not None:
        await savepoint.rollback()
        return replayed
    created = await service.finish_import(pending, upload)
    await savepoint.commit()
    return await idempotency.remember(202, created)


@router.get(
    "",
    response_model=Page[ImportSummary],
    **documented("listImports", "List imports", example=LIST_EXAMPLE),
)
async def list_imports(
    principal: ViewerKey, session: Session, page: PageQuery
) -> Page[ImportSummary]:
    """The tenant's imports, newest first, with status, progress and counts."""
    items, next_cursor = await service.list_imports(session, principal, page)
    return Page(items=items, next_cursor=next_cursor)


def _get_docs() -> dict[str, Any]:
    kwargs = documented(
        "getImport", "Get an import and its report", example=IMPORT_EXAMPLE, errors=[404]
    )
    kwargs["responses"][200]["content"][XLSX_MEDIA_TYPE] = _BINARY
    # Only the workbook is an attachment; JSON answers carry no Content-Disposition.
    kwargs["responses"][200]["headers"] = header_refs("Content-Disposition")
    return kwargs


@router.get("/{import_id}", response_model=ImportOut, **_get_docs())
async def get_import(
    principal: ViewerKey,
    session: Session,
    import_id: uuid.UUID,
    format: Annotated[
        ImportReportFormat | None,
        Query(description="`xlsx`: the full error report as a workbook (default: JSON)"),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> ImportOut | StreamingResponse:
    """Status, progress (rows done of total), counts (created, updated, failed) and the
    first 100 row errors with row number, column, value and message in the request's
    language. `?format=xlsx` (or `Accept: application/vnd.openxmlformats-officedocument.
    spreadsheetml.sheet`) downloads every error as a workbook (行号, 列, 值, 错误说明)."""
    wants_xlsx = format == "xlsx" or (format is None and XLSX_MEDIA_TYPE in (accept or ""))
    if not wants_xlsx:
        return await service.get_import(session, principal, import_id)
    record = await service.require_import(session, principal, import_id)
    path = await write_error_report(session, principal.tenant_id, import_id)
    stem = record.filename.rsplit(".", 1)[0] or "import"
    return StreamingResponse(
        stream_and_delete(path),
        media_type=XLSX_MEDIA_TYPE,
        headers=_attachment(f"{stem}-错误报告.xlsx"),
    )
