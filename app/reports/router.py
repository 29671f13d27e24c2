"""Reports over HTTP: a run's report in JSON, CSV, XLSX or PDF; distribution, cross-tab
and transitions of the current state."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.core.auth import ViewerKey
from app.core.deps import Session
from app.core.openapi import documented
from app.core.routing import ApiRoute
from app.reports import service, state
from app.reports.examples import (
    CROSSTAB_EXAMPLE,
    DISTRIBUTION_EXAMPLE,
    RUN_REPORT_EXAMPLE,
    TRANSITIONS_EXAMPLE,
)
from app.reports.schemas import Crosstab, Distribution, ReportFormat, RunReport, TreeTransitions

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], route_class=ApiRoute)
run_report_router = APIRouter(prefix="/api/v1/runs", tags=["reports"], route_class=ApiRoute)

TreeQuery = Annotated[uuid.UUID, Query(description="A category tree")]


@run_report_router.get(
    "/{run_id}/report",
    response_model=RunReport,
    **documented(
        "getRunReport", "Get a run's report", example=RUN_REPORT_EXAMPLE, errors=[404, 409]
    ),
)
async def get_run_report(
    principal: ViewerKey,
    session: Session,
    run_id: uuid.UUID,
    format: Annotated[ReportFormat, Query(description="json, csv, xlsx or pdf")] = "json",
    rows: Annotated[
        uuid.UUID | None, Query(description="Cross-tab rows: a tree of the run")
    ] = None,
    cols: Annotated[
        uuid.UUID | None, Query(description="Cross-tab columns: a tree of the run")
    ] = None,
) -> RunReport:
    """The report of a succeeded run (409 before): per tree the customers of each
    category with their share and the change against the tree's previous apply run in
    percentage points; a cross-tab of two trees (default: value × activity, with seed
    000's 潜力客户 = 中价值 + 高活跃 highlighted); transitions (from → to counts); the first
    borderline and locked-conflict customers with rule and next action."""
    found = await service.run_report(session, principal, run_id, rows=rows, cols=cols)
    return found.report


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
