"""Reports as the API shows them: distribution, cross-tab, transitions, flagged lists."""

import datetime as dt
import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.runs.schemas import DriftOut, RuleRef, RunMode

ReportFormat = Literal["json", "csv", "xlsx", "pdf"]
ReportParts = Literal["full", "summary"]


class CategoryLabel(BaseModel):
    """A category in a report; `id` null for 未分类 (customers the tree does not hold)."""

    id: uuid.UUID | None
    code: str | None
    name: str
    path: list[str] = Field(description="Codes from the root down")


class CategoryShare(BaseModel):
    """One category's count and share (0–1 of the tree's customers), against the tree's
    previous apply run: its share and the change in percentage points."""

    category: CategoryLabel
    count: int
    share: float
    previous_count: int | None
    previous_share: float | None
    change_pp: float | None = Field(description="(share − previous share) × 100")


class TreeDistribution(BaseModel):
    tree_id: uuid.UUID
    key: str | None
    name: str | None
    multi_assign: bool
    customers: int = Field(description="The customers the shares are of")
    previous_run_id: uuid.UUID | None = Field(description="The apply run compared against")
    previous_as_of: date | None
    categories: list[CategoryShare]


class Distribution(BaseModel):
    """Customers per category of each tree, now."""

    customers: int
    trees: list[TreeDistribution]


class CrosstabAxis(BaseModel):
    tree_id: uuid.UUID
    key: str | None
    name: str | None
    categories: list[CategoryLabel]


class CrosstabHighlight(BaseModel):
    """A cell that names a segment, e.g. 潜力客户 = 中价值 + 高活跃 (seed 000)."""

    row: int = Field(description="Index into rows.categories")
    col: int = Field(description="Index into cols.categories")
    label: str
    count: int


class Crosstab(BaseModel):
    """Customers by category of two trees, with totals (a multi-assign tree counts a
    customer in each of its categories)."""

    rows: CrosstabAxis
    cols: CrosstabAxis
    cells: list[list[int]] = Field(description="cells[row][col]")
    row_totals: list[int]
    col_totals: list[int]
    total: int
    highlights: list[CrosstabHighlight]


class StateRef(BaseModel):
    """One side of a comparison: a run's results, the assignments a run started from
    (`before_run`), the state at the end of a day (from the assignment history), or the
    current state."""

    kind: Literal["run", "before_run", "date", "current"]
    run_id: uuid.UUID | None = None
    date: dt.date | None = None


class Transition(BaseModel):
    from_categories: list[CategoryLabel] = Field(description="Empty: not classified before")
    to_categories: list[CategoryLabel] = Field(description="Empty: not classified after")
    count: int


class TreeTransitions(BaseModel):
    """From → to counts of one tree (unchanged customers included, from = to)."""

    tree_id: uuid.UUID
    key: str | None
    name: str | None
    source: StateRef = Field(alias="from", serialization_alias="from")
    target: StateRef = Field(alias="to", serialization_alias="to")
    customers: int
    changed: int
    items: list[Transition]

    model_config = {"populate_by_name": True}


class FlaggedItem(BaseModel):
    customer_id: uuid.UUID
    customer_code: str
    customer_name: str
    tree_id: uuid.UUID
    tree_name: str | None
    category: CategoryLabel
    rule: RuleRef | None
    next_action: str | None


class FlaggedList(BaseModel):
    total: int
    items: list[FlaggedItem] = Field(
        description="Up to a limit (100 in JSON), ordered by customer code; every one: "
        "`GET /runs/{id}/results?borderline=true` (or `locked_conflict=true`)"
    )


class RunReport(BaseModel):
    """A run's report: distribution per tree against the previous apply run, a cross-tab,
    transitions, borderline and locked-conflict customers, drift alerts."""

    run_id: uuid.UUID
    mode: RunMode
    as_of: date
    created_at: datetime
    finished_at: datetime | None
    customers: int
    distribution: list[TreeDistribution]
    crosstab: Crosstab | None
    transitions: list[TreeTransitions]
    borderline: FlaggedList
    locked_conflicts: FlaggedList
    drift: list[DriftOut] = Field(
        description="The run's drift alerts (流失率异常波动): categories whose share moved past "
        "the tree's drift_threshold_pp since its previous apply run"
    )


class ExportJob(BaseModel):
    """A report export rendered in the background: poll it, then download `download_url`."""

    id: uuid.UUID
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    format: ReportFormat
    run_id: uuid.UUID
    filename: str | None
    size_bytes: int | None
    download_url: str | None = Field(description="Set once the file is ready")
    created_at: datetime
    finished_at: datetime | None
