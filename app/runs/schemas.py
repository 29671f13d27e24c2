"""Classification runs and their results, as the API shows them."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator
from typing_extensions import TypeAliasType

from app.core.openapi import component_schema
from app.core.schemas import IsoDate, RequestBody, goes_with
from app.rules.language.schema import ExpressionJson, Rationale, RuleRef, RuleValue

RunStatus = TypeAliasType(
    "RunStatus", Literal["queued", "waiting", "running", "succeeded", "failed", "cancelled"]
)
RunMode = TypeAliasType("RunMode", Literal["apply", "dry_run"])
MAX_SCOPE_CUSTOMERS = 100_000


class RunScope(RequestBody):
    """Which customers: all, a list, or those matching a condition (as of the run's day)."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                goes_with("customer_ids", "type", "customers"),
                goes_with("when", "type", "filter"),
            ]
        }
    )

    type: Literal["all", "customers", "filter"] = "all"
    customer_ids: (
        Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_SCOPE_CUSTOMERS)] | None
    ) = None
    when: ExpressionJson | None = Field(
        default=None,
        description='Condition (JSON or text), e.g. `region = "华东"`',
    )

    @model_validator(mode="after")
    def _fits_type(self) -> "RunScope":
        if (self.type == "customers") != (self.customer_ids is not None):
            raise ValueError("customer_ids go with type `customers`, and only with it")
        if (self.type == "filter") != (self.when is not None):
            raise ValueError("when goes with type `filter`, and only with it")
        return self


class RunCreate(RequestBody):
    """What to classify: trees (default: every tree with a published ruleset), a scope,
    the day (default: today in the tenant's time zone) and the mode."""

    tree_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=50)] | None = None
    scope: RunScope = Field(default_factory=RunScope)
    as_of: IsoDate | None = None
    mode: RunMode = Field(
        default="apply",
        description="`apply` updates assignments (locked ones are reported, not changed); "
        "`dry_run` only stores the results",
    )


class CategoryInRun(BaseModel):
    """A category as a run saw it: `path` holds the codes from the root down."""

    id: uuid.UUID
    code: str
    name: str
    path: list[str]


class RunTreeOut(BaseModel):
    tree_id: uuid.UUID
    key: str | None = Field(description="The tree's key (null if the tree was deleted since)")
    name: str | None
    ruleset_id: uuid.UUID
    version: int = Field(description="The ruleset version the run used")
    applied_at: datetime | None


class CategoryCount(BaseModel):
    category: CategoryInRun
    count: int


class TreeCounts(BaseModel):
    """A tree's outcome over the run's customers."""

    tree_id: uuid.UUID
    categories: list[CategoryCount]
    changed: int = Field(description="Customers whose category changed (would change: dry run)")
    locked_conflicts: int = Field(description="Locked assignments the rules disagree with")
    borderline: int


class RunCounts(BaseModel):
    customers: int
    changed: int
    locked_conflicts: int
    trees: list[TreeCounts]


class Progress(BaseModel):
    done: int = Field(description="Customers classified")
    total: int | None = Field(description="Customers in the scope (known once planned)")
    chunks_done: int
    chunks_total: int | None


class RunError(BaseModel):
    type: str
    message: str


class DriftOut(BaseModel):
    """A category whose share of the run's customers moved by more than its tree's
    `drift_threshold_pp` since the tree's previous apply run over the same scope."""

    tree_id: uuid.UUID
    category: CategoryInRun
    before: float = Field(description="Share in the previous apply run, in percent")
    after: float = Field(description="Share in this run, in percent")
    pp: float = Field(description="after − before, in percentage points")
    threshold_pp: float
    previous_run_id: uuid.UUID


class RunOut(BaseModel):
    """A classification run: queued → (waiting) → running → succeeded | failed |
    cancelled. `waiting` means another apply run holds one of its trees."""

    id: uuid.UUID
    status: RunStatus
    mode: RunMode
    as_of: date
    scope: Annotated[dict[str, Any], component_schema(RunScope)]
    trees: list[RunTreeOut]
    progress: Progress
    counts: RunCounts | None = Field(description="Known when the run has succeeded")
    drift: list[DriftOut] = Field(
        description="An apply run's drift alerts (流失率异常波动), known when it has succeeded"
    )
    timings: dict[str, float] = Field(description="Seconds per phase")
    waiting_for: uuid.UUID | None
    cancel_requested: bool
    error: RunError | None
    created_by: str
    schedule_id: uuid.UUID | None = Field(
        description="The schedule that started the run (null: started by a request)"
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class FlippedCondition(BaseModel):
    """A condition that came out differently before and after the move."""

    field: str
    label: str
    op: str
    threshold: Any
    before: Any
    after: Any
    held_before: bool
    held_after: bool


class ChangeReason(BaseModel):
    """Why the category changed since the tree's previous apply run: the conditions that
    flipped, from the two runs' snapshots, in a sentence and one by one."""

    text: str
    conditions: list[FlippedCondition]


class ResultItem(BaseModel):
    """One customer's outcome in one tree."""

    customer_id: uuid.UUID
    customer_code: str
    customer_name: str
    tree_id: uuid.UUID
    category: CategoryInRun = Field(description="The category (the first, in a multi-assign tree)")
    categories: list[CategoryInRun] = Field(description="Every category (several: multi-assign)")
    previous_category: CategoryInRun | None
    previous_categories: list[CategoryInRun]
    changed: bool
    rule: RuleRef | None = Field(description="The matched rule, null for the default")
    rationale: Rationale
    metrics: dict[str, Annotated[Any, component_schema(RuleValue)]] = Field(
        description="The values the tree's rules read, by field key (a map)"
    )
    next_action: str | None
    borderline: bool
    locked_conflict: bool
    change_reason: ChangeReason | None = Field(
        default=None,
        description="For a changed result: why it moved since the tree's previous apply run",
    )


class ResultPage(BaseModel):
    items: list[ResultItem]
    next_cursor: str | None = None


class RunFilter(BaseModel):
    """Which runs to list."""

    status: RunStatus | None = None
    tree_id: uuid.UUID | None = None
    schedule_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


class ResultFilter(BaseModel):
    """Which results of a run to list."""

    tree_id: uuid.UUID | None = None
    category: str | None = None
    changed: StrictBool | None = None
    borderline: StrictBool | None = None
    locked_conflict: StrictBool | None = None


class ReclassifyRequest(RequestBody):
    """Which trees (default: every tree with a published ruleset), the day, and whether
    to apply (`dry_run` answers what would change and writes nothing)."""

    tree_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=50)] | None = None
    as_of: IsoDate | None = None
    dry_run: StrictBool = False
    reason: Annotated[str, Field(max_length=500)] | None = None


class ReclassifyResult(BaseModel):
    as_of: date
    dry_run: bool
    items: list[ResultItem] = Field(description="One per tree, like a run's result items")


class ClassificationItem(ResultItem):
    """A customer's current category in one tree: a run's result (with its rationale),
    or a category set otherwise (who, why) beside what the published rules say today."""

    source: str
    locked: bool
    reason: str | None
    assigned_by: str
    assigned_at: datetime
    run_id: uuid.UUID | None
    rules_today: ResultItem | None = Field(
        description="What the published rules say today (for a category not set by a run)"
    )


class ClassificationList(BaseModel):
    items: list[ClassificationItem]
