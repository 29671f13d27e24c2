"""Threshold suggestions as the API takes and gives them."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StringConstraints
from typing_extensions import TypeAliasType

from app.core.schemas import IsoDate
from app.rules.language.schema import RulesJson
from app.rules.schemas import (
    LabelledSamples,
    PreviewShare,
    RuleChange,
    RuleJson,
    SettingChange,
    VersionOut,
)

FieldKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]


SuggestionObjective = TypeAliasType("SuggestionObjective", Literal["accuracy", "macro_f1"])


class SuggestRequest(LabelledSamples):
    """Labelled samples (listed, or a CSV/XLSX file with 客户编号 and 期望分类, as for a
    backtest), the day their values are read as of, what to maximise, and which fields'
    thresholds may move."""

    as_of: IsoDate | None = Field(
        default=None, description="Day the samples' values are read as of (default: today)"
    )
    objective: SuggestionObjective = Field(
        default="accuracy",
        description="What the search maximises on the samples: the share classified as "
        "expected, or the mean F1 over the expected categories (for small categories)",
    )
    fields: Annotated[list[FieldKey], Field(min_length=1, max_length=100)] | None = Field(
        default=None,
        description="Field keys whose thresholds may move (default: every number or money "
        "threshold of the version)",
    )
    create_draft: StrictBool = Field(
        default=False, description="Save the proposal as the next draft version"
    )


class ThresholdMove(BaseModel):
    """One threshold: where it stands in version n and where the search puts it."""

    rule: str = Field(description="The rule's key")
    field: str
    op: str
    bound: Literal["value", "low", "high"] = Field(description="A between's low or high bound")
    from_: Any = Field(alias="from", description="In version n")
    to: Any = Field(description="Proposed")
    changed: bool
    candidates: int = Field(description="Round values the search tried for it")


class Fit(BaseModel):
    accuracy: float
    macro_f1: float


class Training(BaseModel):
    """On the samples the thresholds were searched on (optimistic by construction)."""

    before: Fit
    after: Fit


class CrossValidated(BaseModel):
    """The search repeated five times, each time without one fifth of the samples, which
    are then classified with the thresholds it found: what to expect on new customers."""

    accuracy: float
    macro_f1: float
    folds: list[float] = Field(description="Accuracy on each held-out fifth")


class ClassChange(BaseModel):
    """One category's figures on the samples, under version n and under the proposal."""

    support: int = Field(description="Samples expected in it")
    recall_before: float | None
    recall_after: float | None
    precision_before: float | None
    precision_after: float | None


class RulesetChanges(BaseModel):
    """The proposal against version n, as `GET …/diff` shows two versions."""

    added: list[RuleJson] = Field(description="Rules only in the proposal (Rules JSON)")
    removed: list[RuleJson] = Field(description="Rules only in version n")
    changed: list[RuleChange]
    settings: list[SettingChange]


class TenantImpact(BaseModel):
    """The proposal over every customer of the tenant (a preview): how many would land
    in another category than they have now."""

    total: int
    changed: int | None = Field(description="Null under hit policy collect")
    distribution: list[PreviewShare]


class SearchFigures(BaseModel):
    method: Literal["exhaustive", "coordinate_descent"]
    thresholds: int
    evaluations: int = Field(description="Candidate threshold sets scored on all samples")
    budget_exhausted: bool


class SuggestResult(BaseModel):
    version: int
    objective: SuggestionObjective
    samples: int = Field(description="Samples whose customer exists")
    unknown_codes: list[str]
    training: Training
    cross_validated: CrossValidated
    thresholds: list[ThresholdMove]
    body: RulesJson = Field(description="The proposed Rules JSON (version n's structure)")
    diff: RulesetChanges
    per_class: dict[str, ClassChange]
    tenant: TenantImpact
    search: SearchFigures
    draft: VersionOut | None = Field(description="The draft saved (create_draft)")


SUGGEST_REQUEST_EXAMPLE = {
    "samples": [
        {"customer_code": "C000123", "expected": "CORE"},
        {"customer_code": "C000124", "expected": "REGULAR"},
    ],
    "as_of": "2026-11-25",
    "objective": "accuracy",
    "fields": ["order_amount_12m"],
    "create_draft": False,
}
_AFTER_RULE = {
    "name": "核心客户",
    "category": "CORE",
    "when": "order_amount_12m >= 450000 and interactions_6m >= 10",
    "tags": ["重点维护"],
    "next_action": "客户成功经理一对一月度跟进",
}
SUGGEST_RESULT_EXAMPLE: dict[str, Any] = {
    "version": 3,
    "objective": "accuracy",
    "samples": 50,
    "unknown_codes": [],
    "training": {
        "before": {"accuracy": 0.9, "macro_f1": 0.8376},
        "after": {"accuracy": 0.96, "macro_f1": 0.9452},
    },
    "cross_validated": {
        "accuracy": 0.92,
        "macro_f1": 0.9006,
        "folds": [1.0, 0.9, 0.9, 0.9, 0.9],
    },
    "thresholds": [
        {
            "rule": "core",
            "field": "order_amount_12m",
            "op": "gte",
            "bound": "value",
            "from": 500000,
            "to": 450000,
            "changed": True,
            "candidates": 38,
        },
        {
            "rule": "core",
            "field": "interactions_6m",
            "op": "gte",
            "bound": "value",
            "from": 10,
            "to": 10,
            "changed": False,
            "candidates": 14,
        },
    ],
    "body": {
        "hit_policy": "first",
        "default_category": "LOW",
        "borderline_margin": 0.05,
        "rules": [{"key": "core", **_AFTER_RULE}],
    },
    "diff": {
        "added": [],
        "removed": [],
        "changed": [
            {
                "key": "core",
                "fields": ["when"],
                "thresholds": [
                    {"field": "order_amount_12m", "op": "gte", "from": 500000, "to": 450000}
                ],
                "before": {
                    **_AFTER_RULE,
                    "when": {
                        "all": [
                            {"field": "order_amount_12m", "op": "gte", "value": 500000},
                            {"field": "interactions_6m", "op": "gte", "value": 10},
                        ]
                    },
                },
                "after": {
                    **_AFTER_RULE,
                    "when": {
                        "all": [
                            {"field": "order_amount_12m", "op": "gte", "value": 450000},
                            {"field": "interactions_6m", "op": "gte", "value": 10},
                        ]
                    },
                },
            }
        ],
        "settings": [],
    },
    "per_class": {
        "CORE": {
            "support": 12,
            "recall_before": 0.5833,
            "recall_after": 0.9167,
            "precision_before": 1.0,
            "precision_after": 0.9167,
        },
        "LOW": {
            "support": 38,
            "recall_before": 1.0,
            "recall_after": 0.9737,
            "precision_before": 0.8837,
            "precision_after": 0.9737,
        },
    },
    "tenant": {
        "total": 2000,
        "changed": 64,
        "distribution": [
            {"category": "LOW", "count": 1702, "share": 0.851},
            {"category": "CORE", "count": 298, "share": 0.149},
        ],
    },
    "search": {
        "method": "exhaustive",
        "thresholds": 2,
        "evaluations": 1204,
        "budget_exhausted": False,
    },
    "draft": None,
}
