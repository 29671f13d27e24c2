"""Rule evaluation as the API shows it (for rule editors)."""

from typing import Any

from pydantic import BaseModel, Field

from app.core.schemas import IsoDate, RequestBody


class EvaluateRequest(RequestBody):
    """A ruleset body (exactly the Rules JSON; `when` may be text) and field values."""

    ruleset: dict[str, Any] = Field(description="The Rules JSON of a ruleset version")
    values: dict[str, Any] = Field(
        description="Field values by key (numbers, `YYYY-MM-DD` dates, strings, lists); "
        "missing fields are null"
    )
    as_of: IsoDate | None = Field(
        default=None, description="Day for date windows (default: today, tenant time)"
    )


class RuleRef(BaseModel):
    key: str
    name: str | None


class Rationale(BaseModel):
    """Why: the sentence, each condition of the matched rule, and why earlier rules missed."""

    text: str
    conditions: list[dict[str, Any]]
    why_not: list[dict[str, Any]]


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
    "values": {"order_amount_12m": 650000, "interactions_6m": 12},
    "as_of": "2026-11-25",
}
EVALUATE_RESULT_EXAMPLE = {
    "category": "CORE",
    "categories": ["CORE"],
    "rule": {"key": "core", "name": "核心客户"},
    "rationale": {
        "text": "近12个月交易金额 65.00万元 ≥ 50.00万元;近6个月互动 12 次 ≥ 10 次",
        "conditions": [
            {"field": "order_amount_12m", "label": "近12个月交易金额", "op": "gte",
             "threshold": 500000, "actual": 650000, "passed": True},
            {"field": "interactions_6m", "label": "近6个月互动", "op": "gte",
             "threshold": 10, "actual": 12, "passed": True},
        ],
        "why_not": [],
    },
    "borderline": False,
    "tags": ["重点维护"],
    "next_action": "客户成功经理一对一月度跟进",
}  # fmt: skip
