"""Customers as the API shows and accepts them."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)
from typing_extensions import TypeAliasType

from app.core.bulk import bulk_items
from app.core.openapi import component_schema
from app.core.schemas import DecimalOut, IsoDate, MoneyIn, RequestBody
from app.customers.normalise import NormalisationError, size_from_employees, validate_uscc

Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[^\s/]+$"),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Money = MoneyIn
CustomerSize = TypeAliasType("CustomerSize", Literal["small", "medium", "large"])
CustomerStage = TypeAliasType("CustomerStage", Literal["potential", "signed"])

AttributeValue = TypeAliasType(
    "AttributeValue",
    Annotated[
        StrictBool | float | str | list[str] | None,
        Field(
            description="A custom field's value, as its definition (`GET /api/v1/fields`, "
            "kind `custom`) types it: `number` a JSON number (a decimal string such as "
            '"650000.50" is taken too), `integer` a whole number, `date` `YYYY-MM-DD`, '
            "`string` and `enum` text, `boolean` true or false, `string_list` a list of "
            "text; null for no value"
        ),
    ],
)
# Checked against the tenant's custom-field definitions by the service (every problem
# names its key), so the model takes any JSON value; documented as AttributeValue.
Attributes = TypeAliasType(
    "Attributes",
    Annotated[
        dict[str, Annotated[Any, component_schema(AttributeValue)]],
        Field(description="Custom fields by key (a map; each value typed by its definition)"),
    ],
)


class CustomerFields(RequestBody):
    """Profile fields shared by create, update and bulk upsert (all optional here)."""

    name: Name | None = Field(default=None, examples=["上海华信电子科技有限公司"])
    industry: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = (
        Field(
            default=None, examples=["制造业-电子"], description="Hierarchical code, `-`-separated"
        )
    )
    employees: Annotated[StrictInt, Field(ge=0, le=10_000_000)] | None = Field(
        default=None, description="Headcount; when given, `size` is derived from it"
    )
    size: CustomerSize | None = Field(
        default=None, description="小型 <50 / 中型 50–200 / 大型 >200"
    )
    annual_revenue: Money | None = Field(default=None, examples=["12500000.00"])
    region: ShortText | None = Field(default=None, examples=["上海"])
    stage: CustomerStage | None = None
    uscc: str | None = Field(
        default=None, max_length=40, description="统一社会信用代码 (checksum validated)"
    )
    contact_name: ShortText | None = None
    contact_title: ShortText | None = None
    cooperation_since: IsoDate | None = Field(
        default=None, description="合作开始日期; default: the first order"
    )
    tags: Annotated[list[Tag], Field(max_length=50)] | None = None
    attributes: Attributes | None = Field(
        default=None,
        description="Custom fields by key (a map; each value typed by its field's definition)",
    )

    @field_validator("uscc")
    @classmethod
    def _valid_uscc(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return validate_uscc(value)
        except NormalisationError as exc:
            raise ValueError(f"{exc.message_zh} / {exc.message_en}") from exc

    @model_validator(mode="after")
    def _size_matches_employees(self) -> "CustomerFields":
        if self.employees is not None:
            derived = size_from_employees(self.employees)
            if self.size is not None and self.size != derived:
                raise ValueError(
                    f"size {self.size!r} contradicts {self.employees} employees ({derived})"
                )
            self.size = derived
            self.model_fields_set.add("size")
        return self


class CustomerCreate(CustomerFields):
    """A new customer: `code` (客户编号) and `name` are required."""

    code: Code = Field(examples=["C000123"])
    name: Name = Field(examples=["上海华信电子科技有限公司"])


class CustomerUpdate(CustomerFields):
    """Fields to change; omitted fields keep their value, `null` clears one."""

    code: Code | None = None


class CustomerOut(BaseModel):
    """A customer."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    industry: str | None
    employees: int | None
    size: CustomerSize | None
    annual_revenue: DecimalOut | None
    region: str | None
    stage: CustomerStage
    uscc: str | None
    contact_name: str | None
    contact_title: str | None
    cooperation_since: date | None
    tags: list[str]
    attributes: Attributes = Field(
        description="Custom fields by key (a map; each value typed by its field's definition)"
    )
    created_at: datetime
    updated_at: datetime


class CustomerBulk(RequestBody):
    """Customers to create or update by `code` (up to 10,000). Omitted fields of an existing customer keep their value."""  # noqa: E501

    items: Annotated[list[dict[str, Any]], bulk_items(CustomerCreate)]


CUSTOMER_EXAMPLE = {
    "id": "5b0e3f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
    "code": "C000123",
    "name": "上海华信电子科技有限公司",
    "industry": "制造业-电子",
    "employees": 180,
    "size": "medium",
    "annual_revenue": "12500000.00",
    "region": "上海",
    "stage": "signed",
    "uscc": "91350100M000100Y43",
    "contact_name": "王敏",
    "contact_title": "采购经理",
    "cooperation_since": "2022-03-01",
    "tags": ["老客户", "重点客户"],
    "attributes": {},
    "created_at": "2026-11-25T10:00:00+08:00",
    "updated_at": "2026-11-25T10:00:00+08:00",
}
CUSTOMER_CREATE_EXAMPLE = {
    key: CUSTOMER_EXAMPLE[key]
    for key in (
        "code",
        "name",
        "industry",
        "employees",
        "region",
        "stage",
        "uscc",
        "contact_name",
        "contact_title",
        "cooperation_since",
        "tags",
    )
}


class Metrics(BaseModel):
    """Metrics computed from activity as of a date (see GET /api/v1/fields for labels)."""

    order_amount_1m: DecimalOut
    order_amount_3m: DecimalOut
    order_amount_6m: DecimalOut
    order_amount_12m: DecimalOut
    order_count_1m: int
    order_count_3m: int
    order_count_6m: int
    order_count_12m: int
    avg_order_amount_12m: DecimalOut | None
    last_order_date: date | None
    days_since_last_order: int | None
    last_contact_date: date | None
    days_since_last_contact: int | None
    interactions_30d: int
    interactions_90d: int
    interactions_6m: int
    inquiries_90d: int
    inquiries_6m: int
    unreplied_outreach_90d: int
    complaints_6m: int
    major_complaints_6m: int
    cooperation_months: int | None


class CustomerMetrics(BaseModel):
    """A customer's metrics as of a date."""

    customer_id: uuid.UUID
    as_of: date
    metrics: Metrics


METRICS_EXAMPLE = {
    "customer_id": CUSTOMER_EXAMPLE["id"],
    "as_of": "2026-11-25",
    "metrics": {
        "order_amount_1m": "125000.00",
        "order_amount_3m": "310000.00",
        "order_amount_6m": "520000.00",
        "order_amount_12m": "650000.00",
        "order_count_1m": 1,
        "order_count_3m": 3,
        "order_count_6m": 5,
        "order_count_12m": 7,
        "avg_order_amount_12m": "92857.14",
        "last_order_date": "2026-11-20",
        "days_since_last_order": 5,
        "last_contact_date": "2026-11-21",
        "days_since_last_contact": 4,
        "interactions_30d": 3,
        "interactions_90d": 7,
        "interactions_6m": 12,
        "inquiries_90d": 1,
        "inquiries_6m": 2,
        "unreplied_outreach_90d": 0,
        "complaints_6m": 0,
        "major_complaints_6m": 0,
        "cooperation_months": 44,
    },
}


@dataclass(frozen=True)
class CustomerFilter:
    """What a customer list is filtered by (besides a rule condition)."""

    industry: str | None = None  # a prefix of the hierarchical code
    size: str | None = None
    region: str | None = None
    stage: str | None = None
    tag: str | None = None
    q: str | None = None  # text search on name and code
