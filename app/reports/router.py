"""Reports over HTTP: a run's report in JSON, CSV, XLSX or PDF; distribution, cross-tab
and transitions of the current state."""

import re
import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from app.core.auth import ViewerKey
from app.core.db import Database
from app.core.deps import Session, get_database
from app.core.i18n import current_locale
from app.core.openapi import documented, header_refs
from app.core.routing import ApiRoute
from app.core.tempfiles import stream_and_delete
from app.reports import export_jobs, service, state
from app.reports.examples import (
    CROSSTAB_EXAMPLE,
    DISTRIBUTION_EXAMPLE,
    EXPORT_JOB_EXAMPLE,
    RUN_REPORT_EXAMPLE,
    TRANSITIONS_EXAMPLE,
)
from app.reports.exports import MEDIA_TYPES
from app.reports.schemas import (
    Crosstab,
    Distribution,
    ExportJob,
    ReportFormat,
    ReportParts,
    RunReport,
    TreeTransitions,
)

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], route_class=ApiRoute)
run_report_router = APIRouter(prefix="/api/v1/runs", tags=["reports"], route_class=ApiRoute)

TreeQuery = Annotated[uuid.UUID, Query(description="A category tree")]


_BINARY = {"schema": {"type": "string", "format": "binary"}}


def _run_report_docs() -> dict[str, Any]:
    kwargs = documented(
        "getRunReport", "Get a run's report", example=RUN_REPORT_EXAMPLE, errors=[404, 409]
    )
    content = kwargs["responses"][200]["content"]
    for fmt in ("csv", "xlsx", "pdf"):
        content[MEDIA_TYPES[fmt].split(";")[0]] = _BINARY
    # The files are attachments (the JSON report is not).
    kwargs["responses"][200]["headers"] = header_refs("Content-Disposition")
    kwargs["responses"][202] = {
        "model": ExportJob,
        "description": "A long CSV or XLSX export, rendered in the background",
        "content": {"application/json": {"example": EXPORT_JOB_EXAMPLE}},
        "headers": header_refs("Location"),
    }
    return kwargs


def _attachment(filename: str) -> dict[str, str]:
    # RFC 6266: an ASCII fallback plus the UTF-8 name for the Chinese file names.
    fallback = re.sub(r'[?"\\]', "_", filename.encode("ascii", "replace").decode())
    return {
        "Content-Disposition": f'attachment; filename="{fallback}"; '
        f"filename*=UTF-8''{quote(filename)}"
    }


@run_report_router.get("/{run_id}/report", response_model=RunReport, **_run_report_docs())
async def get_run_report(
    principal: ViewerKey,
    session: Session,
    request: Request,
    run_id: uuid.UUID,
    format: Annotated[ReportFormat, Query(description="json, csv, xlsx or pdf")] = "json",
    parts: Annotated[
        ReportParts,
        Query(description="`summary`: an XLSX without the customer lists"),
    ] = "full",
    rows: Annotated[
        uuid.UUID | None, Query(description="Cross-tab rows: a tree of the run")
    ] = None,
    cols: Annotated[
        uuid.UUID | None, Query(description="Cross-tab columns: a tree of the run")
    ] = None,
) -> RunReport | Response:
    """The report of a succeeded run (409 before): per tree the customers of each
    category with their share and the change against the tree's previous apply run in
    percentage points; a cross-tab of two trees (default: value × activity, with seed
    000's 潜力客户 = 中价值 + 高活跃 highlighted); transitions (from → to counts); the first
    borderline and locked-conflict customers with rule and next action.

    `format=xlsx`: a workbook with a sheet per part, native charts and, unless
    `parts=summary`, each tree's customer list (rule, next action, the values the rules
    read, 万元 for amounts); `pdf`: a title page, charts and tables; `csv`: the customer
    lists (UTF-8 with BOM). A CSV or XLSX whose lists are long answers 202 with an export
    to poll (`GET /api/v1/reports/exports/{id}`) and download."""
    if format == "json":
        found = await service.run_report(session, principal, run_id, rows=rows, cols=cols)
        return found.report
    outcome = await export_jobs.report_file_or_job(
        session,
        principal,
        run_id,
        format,
        parts,
        current_locale.get(),
        inline_max_rows=request.app.state.settings.report_inline_max_rows,
        rows=rows,
        cols=cols,
    )
    if isinstance(outcome, ExportJob):
        return JSONResponse(
            outcome.model_dump(mode="json"),
            status_code=202,
            headers={"Location": f"/api/v1/reports/exports/{outcome.id}"},
        )
    return StreamingResponse(
        stream_and_delete(outcome.path),
        media_type=outcome.media_type,
        headers=_attachment(outcome.filename),
    )


@router.get(
    "/exports/{export_id}",
    response_model=ExportJob,
    **documented(
        "getReportExport", "Get a report export", example=EXPORT_JOB_EXAMPLE, errors=[404]
    ),
)
async def get_report_export(
    principal: ViewerKey, session: Session, export_id: uuid.UUID
) -> ExportJob:
    """A report export rendered in the background: its status, and once it has
    succeeded the file's name, size and download URL."""
    return await export_jobs.get_export(session, principal, export_id)


def _download_docs() -> dict[str, Any]:
    kwargs = documented(
        "downloadReportExport",
        "Download a report export",
        errors=[404, 409],
        responses={
            200: {
                "description": "The file",
                "content": {
                    MEDIA_TYPES["xlsx"]: {**_BINARY, "example": "(XLSX workbook)"},
                    MEDIA_TYPES["csv"].split(";")[0]: _BINARY,
                },
                "headers": header_refs("Content-Disposition"),
            }
        },
    )
    return kwargs


@router.get("/exports/{export_id}/file", response_class=Response, **_download_docs())
async def download_report_export(
    principal: ViewerKey,
    session: Session,
    database: Annotated[Database, Depends(get_database)],
    export_id: uuid.UUID,
) -> Response:
    """The rendered file (409 while it is being rendered, or if rendering failed)."""
    view = await export_jobs.ready_export(session, principal, export_id)
    return StreamingResponse(
        export_jobs.stored_file(database, principal.tenant_id, export_id),
        media_type=export_jobs.media_type(view),
        headers={
            **_attachment(view.filename or "report"),
            "Content-Length": str(view.size_bytes),
        },
    )


@router.get(
    "/distribution",
    response_model=Distribution,
    **documented(
        "getDistributionReport",
        "Get the distribution of customers per category now",
        example=DISTRIBUTION_EXAMPLE,
        errors=[404],
    ),
)
async def get_distribution(
    principal: ViewerKey,
    session: Session,
    tree_id: Annotated[uuid.UUID | None, Query(description="One tree (default: all)")] = None,
) -> Distribution:
    """Customers per category of each tree as assigned now (未分类: customers the tree
    does not hold), shares of all the tenant's customers, and the change in percentage
    points against the tree's newest apply run."""
    return await state.distribution(session, principal, tree_id)


@router.get(
    "/crosstab",
    response_model=Crosstab,
    **documented(
        "getCrosstabReport",
        "Cross-tabulate two trees now",
        example=CROSSTAB_EXAMPLE,
        errors=[404],
    ),
)
async def get_crosstab(
    principal: ViewerKey,
    session: Session,
    rows: Annotated[uuid.UUID, Query(description="The tree along the rows")],
    cols: Annotated[uuid.UUID, Query(description="The tree along the columns")],
) -> Crosstab:
    """Customers by category of two trees as assigned now, with row and column totals;
    crossing the value and activity trees highlights 潜力客户 (中价值 + 高活跃, seed 000)."""
    return await state.crosstab(session, principal, rows, cols)


@router.get(
    "/transitions",
    response_model=TreeTransitions,
    **documented(
        "getTransitionsReport",
        "Count a tree's moves between two runs or dates",
        example=TRANSITIONS_EXAMPLE,
        errors=[404],
    ),
)
async def get_transitions(
    principal: ViewerKey,
    session: Session,
    tree_id: TreeQuery,
    source: Annotated[
        str,
        Query(alias="from", max_length=40, description="A run id or a date (YYYY-MM-DD)"),
    ],
    target: Annotated[
        str | None,
        Query(alias="to", max_length=40, description="A run id or a date (default: now)"),
    ] = None,
) -> TreeTransitions:
    """From → to counts of a single-assign tree: between two runs' results, or two days
    (as the tree stood at the end of each day in the tenant's time zone, from the
    assignment history), or from a run or day to now."""
    return await state.transitions(session, principal, tree_id, source, target)
