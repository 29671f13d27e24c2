"""Data-quality reports, duplicate groups and merges as the API shows and accepts them."""

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field
from typing_extensions import TypeAliasType

from app.core.schemas import RequestBody
from app.customers.schemas import CUSTOMER_EXAMPLE, CustomerOut

_DIGITS = re.compile(r"^[0-9]{1,10}$")


def _plain_digits(value: Any) -> Any:
    # Pydantic would read "+0.0" or " 1" as an integer; a seed is written as digits.
    if isinstance(value, str) and not _DIGITS.match(value):
        raise ValueError("expected a whole number written in digits")
    return value


# The range inside, the digits check outside, so the schema still says minimum/maximum.
Seed = Annotated[Annotated[int, Field(ge=0, le=2_147_483_647)], BeforeValidator(_plain_digits)]

ProblemKind = Literal["missing", "invalid_uscc", "unknown_industry", "size_mismatch"]
DuplicateReason = TypeAliasType("DuplicateReason", Literal["uscc", "name"])


class FieldCompleteness(BaseModel):
    """How many customers have a value in one profile field."""

    field: str = Field(examples=["industry"])
    label: str = Field(examples=["所属行业"])
    filled: int
    share: float = Field(description="filled / total_customers (0 when there are none)")


class ProblemExample(BaseModel):
    """One customer with one problem, to look at and fix."""

    customer_id: uuid.UUID
    code: str
    field: str
    value: str | None = Field(description="The stored value (null when it is missing)")
    message: str


class ProblemCount(BaseModel):
    """A kind of problem in one field: how many customers have it, and a few of them."""

    kind: ProblemKind
    field: str
    label: str
    count: int
    examples: list[ProblemExample] = Field(description="Up to 5, by customer code")


class CustomerRef(BaseModel):
    """A customer named in a report."""

    id: uuid.UUID
    code: str
    name: str


class WithoutActivity(BaseModel):
    """Customers with no order, interaction or complaint at all."""

    count: int
    share: float
    examples: list[CustomerRef] = Field(description="Up to 5, by customer code")


class SampleCheck(BaseModel):
    """数据验证: a reproducible random sample of the customers checked field by field.

    A sampled customer is an error when a required field is missing or invalid: `code`,
    `name`, `industry` (in the industry list), `size` or `employees` (and consistent),
    `region`, and `uscc` when present (checksum). The check passes when the error rate
    is below `max_error_rate`.
    """

    seed: int = Field(description="Send it back as `?seed=` to draw the same sample again")
    sample_share: float = Field(examples=[0.1])
    sample_size: int
    errors: int = Field(description="Sampled customers with at least one problem")
    error_rate: float = Field(description="errors / sample_size (0 for an empty sample)")
    max_error_rate: float = Field(examples=[0.05])
    passed: bool
    problems: list[ProblemCount] = Field(description="Problems found in the sample, by kind")


class DataQualityReport(BaseModel):
    """Completeness, invalid values, customers without activity, and the sample check."""

    total_customers: int
    industry_list: Literal["tenant", "standard"] = Field(
        description="Industries were checked against the tenant's list, or the standard "
        "hierarchy while the tenant has none"
    )
    completeness: list[FieldCompleteness]
    invalid: list[ProblemCount]
    without_activity: WithoutActivity
    sample_check: SampleCheck


class DuplicateCustomer(BaseModel):
    """A member of a duplicate group."""

    id: uuid.UUID
    code: str
    name: str
    created_at: datetime


class DuplicateGroup(BaseModel):
    """Customers that are probably one company."""

    reason: DuplicateReason = Field(
        description="`uscc`: the same 统一社会信用代码; `name`: the same name once legal "
        "forms, punctuation, full-width characters and spaces are ignored"
    )
    key: str = Field(description="The shared USCC or normalised name")
    customer_count: int
    customers: list[DuplicateCustomer] = Field(description="Oldest first, at most 100")


class MergeRequest(RequestBody):
    """Customers to merge into the one in the path."""

    duplicate_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=100)]


class MergedCustomer(CustomerOut):
    """The surviving customer, with every code that now leads to it."""

    aliases: list[str] = Field(description="Former codes of merged customers (客户编号)")


class MergeResult(BaseModel):
    """What a merge did."""

    survivor: MergedCustomer
    merged_ids: list[uuid.UUID]
    moved: dict[str, int] = Field(
        description="Rows moved to the survivor, per table (orders, interactions, complaints)"
    )


_PROBLEM_EXAMPLE_ID = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"

DATA_QUALITY_EXAMPLE = {
    "total_customers": 2000,
    "industry_list": "tenant",
    "completeness": [
        {"field": "name", "label": "客户名称", "filled": 2000, "share": 1.0},
        {"field": "industry", "label": "所属行业", "filled": 1964, "share": 0.982},
        {"field": "uscc", "label": "统一社会信用代码", "filled": 1810, "share": 0.905},
    ],
    "invalid": [
        {
            "kind": "invalid_uscc",
            "field": "uscc",
            "label": "统一社会信用代码",
            "count": 3,
            "examples": [
                {
                    "customer_id": _PROBLEM_EXAMPLE_ID,
                    "code": "C000311",
                    "field": "uscc",
                    "value": "91350100M000100Y44",
                    "message": "统一社会信用代码无效：'91350100M000100Y44'，校验位不正确",
                }
            ],
        }
    ],
    "without_activity": {
        "count": 120,
        "share": 0.06,
        "examples": [
            {"id": _PROBLEM_EXAMPLE_ID, "code": "C000311", "name": "杭州明远贸易有限公司"}
        ],
    },
    "sample_check": {
        "seed": 20261125,
        "sample_share": 0.1,
        "sample_size": 200,
        "errors": 4,
        "error_rate": 0.02,
        "max_error_rate": 0.05,
        "passed": True,
        "problems": [
            {
                "kind": "missing",
                "field": "region",
                "label": "所在地区",
                "count": 4,
                "examples": [
                    {
                        "customer_id": _PROBLEM_EXAMPLE_ID,
                        "code": "C000311",
                        "field": "region",
                        "value": None,
                        "message": "缺少必填字段：所在地区",
                    }
                ],
            }
        ],
    },
}

DUPLICATES_EXAMPLE = {
    "items": [
        {
            "reason": "name",
            "key": "上海华信电子科技",
            "customer_count": 2,
            "customers": [
                {
                    "id": CUSTOMER_EXAMPLE["id"],
                    "code": "C000123",
                    "name": "上海华信电子科技有限公司",
                    "created_at": "2026-11-25T10:00:00+08:00",
                },
                {
                    "id": _PROBLEM_EXAMPLE_ID,
                    "code": "CRM-88",
                    "name": "上海华信电子科技（集团）股份有限公司",
                    "created_at": "2026-11-25T11:30:00+08:00",
                },
            ],
        }
    ],
    "next_cursor": None,
}

MERGE_REQUEST_EXAMPLE = {"duplicate_ids": [_PROBLEM_EXAMPLE_ID]}

MERGE_EXAMPLE = {
    "survivor": {**CUSTOMER_EXAMPLE, "aliases": ["CRM-88"]},
    "merged_ids": [_PROBLEM_EXAMPLE_ID],
    "moved": {"orders": 12, "interactions": 30, "complaints": 1},
}
