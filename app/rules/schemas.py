"""Rule evaluation as the API shows it (for rule editors)."""

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator
from typing_extensions import TypeAliasType

from app.core.openapi import component_schema
from app.core.schemas import IsoDate, RequestBody, exactly_one_of
from app.rules.language.schema import (
    ConditionValue,
    ExpressionJson,
    FieldValue,
    Operator,
    Rationale,
    RuleContent,
    RuleRef,
    RulesetBody,
    RulesJson,
    SampleRationale,
)
from app.rules.trial import Preview, Transition


class EvaluateRequest(RequestBody):
    """A ruleset body (exactly the Rules JSON; `when` may be text) and field values."""

    ruleset: RulesJson = Field(description="The Rules JSON of a ruleset version")
    values: dict[str, Annotated[Any, component_schema(FieldValue)]] = Field(
        description="Field values by key (numbers, `YYYY-MM-DD` dates, strings, lists); "
        "missing fields are null"
    )
    as_of: IsoDate | None = Field(
        default=None, description="Day for date windows (default: today, tenant time)"
    )
    tree_id: uuid.UUID | None = Field(
        default=None,
        description="For scores (ntile, rank_pct): the tree whose latest succeeded run's "
        "cut points place the values (default, or when it has none: the tenant's "
        "customers as of `as_of`)",
    )


class EvaluateResult(BaseModel):
    """The category a customer with these values gets, and why."""

    category: str
    categories: list[str] = Field(description="Every category (several under `collect`)")
    rule: RuleRef | None = Field(description="The matched rule, null for the default")
    rationale: Rationale
    borderline: bool
    tags: list[str]
    next_action: str | None


EVALUATE_REQUEST_EXAMPLE = {
    "ruleset": {
        "hit_policy": "first",
        "default_category": "LOW",
        "borderline_margin": 0.05,
        "rules": [
            {
                "key": "core",
                "name": "核心客户",
                "category": "CORE",
                "when": "order_amount_12m >= 500000 and interactions_6m >= 10",
                "tags": ["重点维护"],
                "next_action": "客户成功经理一对一月度跟进",
            }
        ],
    },
    "values": {"order_amount_12m": "650000", "interactions_6m": 12},
    "as_of": "2026-11-25",
}
EVALUATE_RESULT_EXAMPLE = {
    "category": "CORE",
    "categories": ["CORE"],
    "rule": {"key": "core", "name": "核心客户"},
    "rationale": {
        "text": "近12个月交易金额 65.00万元 ≥ 50.00万元;近6个月互动 12 次 ≥ 10 次",
        "conditions": [
            {
                "index": 0,
                "path": ["all", 0],
                "field": "order_amount_12m",
                "label": "近12个月交易金额",
                "op": "gte",
                "threshold": "500000",
                "actual": "650000",
                "passed": True,
                "text": "近12个月交易金额 65.00万元 ≥ 50.00万元",
            },
            {
                "index": 1,
                "path": ["all", 1],
                "field": "interactions_6m",
                "label": "近6个月互动",
                "op": "gte",
                "threshold": 10,
                "actual": 12,
                "passed": True,
                "text": "近6个月互动 12 次 ≥ 10 次",
            },
        ],
        "why_not": [],
    },
    "borderline": False,
    "tags": ["重点维护"],
    "next_action": "客户成功经理一对一月度跟进",
}


class RulesetCreate(RequestBody):
    """A ruleset for one tree (one per tree)."""

    tree_id: uuid.UUID
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None


class RulesetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tree_id: uuid.UUID
    name: str
    description: str | None
    published_version: int | None = Field(description="Number of the published version")
    latest_version: int | None
    created_at: datetime
    updated_at: datetime


class VersionOut(BaseModel):
    """A ruleset version; `body` is exactly the Rules JSON."""

    model_config = ConfigDict(from_attributes=True)

    ruleset_id: uuid.UUID
    version: int = Field(validation_alias="number")
    status: Literal["draft", "published", "retired"]
    body: RulesJson
    note: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    published_by: str | None


class VersionList(BaseModel):
    items: list[VersionOut]


class PublishResult(BaseModel):
    """Published at once (`published`), or waiting for approval (`change_request_id`)."""

    status: Literal["published", "pending_approval"]
    version: VersionOut
    change_request_id: uuid.UUID | None = None


RuleJson = Annotated[dict[str, Any], component_schema(RulesetBody, "Rule")]
RuleContentJson = Annotated[dict[str, Any], component_schema(RuleContent)]
ConditionValueJson = Annotated[Any, component_schema(ConditionValue)]


class ThresholdChange(BaseModel):
    """A condition that kept its field and operator but not its value."""

    field: str
    op: Operator
    from_: ConditionValueJson = Field(alias="from")
    to: ConditionValueJson


class RuleChange(BaseModel):
    """A rule kept by key whose JSON changed: which members, and the thresholds."""

    key: str
    fields: list[str] = Field(description="The members that changed (`when`, `category` …)")
    thresholds: list[ThresholdChange]
    before: RuleContentJson = Field(description="The rule in `against` (Rules JSON, no key)")
    after: RuleContentJson = Field(description="The rule in `version`")


class SettingChange(BaseModel):
    setting: Literal["hit_policy", "default_category", "borderline_margin"]
    from_: str = Field(alias="from")
    to: str


class DiffOut(BaseModel):
    """What changed from version `against` to `version`."""

    version: int
    against: int
    added: list[RuleJson] = Field(description="Rules only in `version` (Rules JSON)")
    removed: list[RuleJson] = Field(description="Rules only in `against`")
    changed: list[RuleChange]
    settings: list[SettingChange] = Field(description="hit_policy, default_category, margin")


FindingType = Literal["shadowed_rule", "never_true", "overlap", "gap", "unreachable_category"]
Severity = Literal["warning", "info"]


class LintDetail(BaseModel):
    """What a finding is about; which members are present depends on its `type`."""

    rule: str | None = Field(default=None, description="The rule's key")
    shadowed_by: str | None = Field(default=None, description="The earlier rule's key")
    category: str | None = Field(default=None, description="A category code")
    field: str | None = Field(default=None, description="A field key")
    rules: list[str] | None = Field(default=None, description="The rules' keys")


class LintFinding(BaseModel):
    type: FindingType
    severity: Severity
    loc: list[str | int]
    message: str
    detail: Annotated[dict[str, Any], component_schema(LintDetail)] = Field(default_factory=dict)


class LintResult(BaseModel):
    version: int
    findings: list[LintFinding]


RULESET_EXAMPLE = {
    "id": "4c2b1a09-8f7e-4d6c-9b5a-3e2d1c0b9a87",
    "tree_id": "3d6f0a52-8c1e-4b7a-9e2d-5f4c3b2a1908",
    "name": "客户关系划分规则",
    "description": "种子文档 002 的阈值",
    "published_version": 2,
    "latest_version": 3,
    "created_at": "2026-11-25T10:00:00+08:00",
    "updated_at": "2026-11-25T10:00:00+08:00",
}
VERSION_EXAMPLE = {
    "ruleset_id": RULESET_EXAMPLE["id"],
    "version": 3,
    "status": "draft",
    "body": EVALUATE_REQUEST_EXAMPLE["ruleset"],
    "note": "核心客户门槛下调至 45 万",
    "created_by": "user:张伟",
    "created_at": "2026-11-25T10:00:00+08:00",
    "updated_at": "2026-11-25T10:00:00+08:00",
    "published_at": None,
    "published_by": None,
}


class Sample(RequestBody):
    customer_code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    expected: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class SamplesFile(RequestBody):
    """An uploaded CSV or XLSX with the columns 客户编号 and 期望分类."""

    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    content_base64: Annotated[str, StringConstraints(min_length=4, max_length=14_000_000)]


class LabelledSamples(RequestBody):
    """Customers with the category they should have, listed or as a file (backtest and
    threshold suggestions read the same)."""

    model_config = ConfigDict(json_schema_extra=exactly_one_of("samples", "samples_file"))

    samples: Annotated[list[Sample], Field(min_length=1, max_length=10_000)] | None = None
    samples_file: SamplesFile | None = None

    @model_validator(mode="after")
    def _samples_or_file(self) -> Self:
        if (self.samples is None) == (self.samples_file is None):
            raise ValueError("give either samples or samples_file")
        return self


class ClassFigures(BaseModel):
    """How well one category was found."""

    precision: float | None = Field(description="Of those predicted in it, the share expected")
    recall: float | None = Field(description="Of those expected in it, the share found")
    support: int = Field(description="Samples expected in it")


class Mismatch(BaseModel):
    """A sample the version classifies otherwise than expected."""

    customer_code: str
    expected: str
    actual: str
    rule: RuleRef | None
    rationale: SampleRationale


class BacktestRequest(LabelledSamples):
    """Labelled samples (seed 000: 50 customers, pass at 85 %), listed or as a file."""

    as_of: IsoDate | None = None
    min_accuracy: Annotated[float, Field(ge=0, le=1)] = 0.85


PredictedCounts = TypeAliasType(
    "PredictedCounts",
    Annotated[
        dict[str, int],
        Field(description="Samples of one expected category by the category predicted"),
    ],
)


class BacktestResult(BaseModel):
    samples: int
    correct: int
    accuracy: float
    min_accuracy: float
    passed: bool
    confusion_matrix: dict[str, PredictedCounts] = Field(description="expected → predicted → n")
    per_class: dict[str, ClassFigures] = Field(description="By category code")
    mismatches: list[Mismatch]
    unknown_codes: list[str]


class Scope(RequestBody):
    """Which customers: all, a list, or those matching a condition."""

    type: Literal["all", "customers", "filter"] = "all"
    customer_ids: Annotated[list[uuid.UUID], Field(max_length=100_000)] | None = None
    when: ExpressionJson | None = Field(default=None, description="Condition (JSON or text)")


class PreviewRequest(RequestBody):
    scope: Scope = Field(default_factory=Scope)
    as_of: IsoDate | None = None
    fresh: StrictBool = Field(
        default=False,
        description="Compute the values from the activity now instead of reading the "
        "snapshot of the newest run as of the same day",
    )


class RulesPreviewRequest(PreviewRequest):
    """An unsaved ruleset body for a tree: what a rule editor previews while dragging a
    threshold."""

    tree_id: uuid.UUID
    ruleset: RulesJson = Field(description="The Rules JSON of a ruleset version")


class PreviewSource(BaseModel):
    """Where the values came from and how old they are."""

    kind: Literal["snapshot", "computed"] = Field(
        description="`snapshot`: a succeeded run's stored values; `computed`: aggregated "
        "from the activity for this request"
    )
    reason: Literal["snapshot", "fresh_requested", "no_snapshot"] = Field(
        description="`no_snapshot`: no succeeded run over all customers as of that day "
        "holds every field the rules and the scope read"
    )
    run_id: uuid.UUID | None = Field(description="The run whose snapshot was read")
    taken_at: datetime = Field(description="When the values were read (the run's start)")
    age_seconds: float
    stale: bool = Field(
        description="Activity or customer profiles changed after `taken_at`: the figures "
        "miss those changes (`fresh: true` recomputes them)"
    )
    changed_at: datetime | None = Field(
        description="The newest change of the tenant's activity or customer profiles"
    )


class PreviewShare(BaseModel):
    category: str
    count: int
    share: float


class PreviewTransition(BaseModel):
    from_: str | None = Field(alias="from", description="Current category (null: none yet)")
    to: str
    count: int
    changed: bool


class PreviewResult(BaseModel):
    total: int
    distribution: list[PreviewShare]
    transitions: list[PreviewTransition] = Field(description="current → new category counts")
    changed: int
    source: PreviewSource

    @classmethod
    def of(cls, result: Preview) -> "PreviewResult":
        return cls(
            total=result.total,
            distribution=[asdict(share) for share in result.distribution],
            transitions=[_transition(t) for t in result.transitions],
            changed=result.changed,
            source=PreviewSource.model_validate(asdict(result.source)),
        )


def _transition(t: Transition) -> dict[str, Any]:
    return {"from": t.from_category, "to": t.to_category, "count": t.count, "changed": t.changed}


PREVIEW_EXAMPLE = {
    "total": 2000,
    "distribution": [{"category": "REGULAR", "count": 900, "share": 0.45}],
    "transitions": [{"from": "LOW", "to": "REGULAR", "count": 40, "changed": True}],
    "changed": 40,
    "source": {
        "kind": "snapshot",
        "reason": "snapshot",
        "run_id": "0b6c7d8e-9f00-4a1b-8c2d-3e4f5a6b7c8d",
        "taken_at": "2026-11-25T02:00:40Z",
        "age_seconds": 5400.0,
        "stale": False,
        "changed_at": "2026-11-24T18:30:00Z",
    },
}
