"""The field catalog and custom-field definitions as the API shows them."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from typing_extensions import TypeAliasType

from app.core.schemas import RequestBody
from app.rules.language.schema import Operator

FieldType = TypeAliasType(
    "FieldType", Literal["number", "integer", "date", "string", "enum", "boolean", "string_list"]
)
FieldUnit = TypeAliasType("FieldUnit", Literal["CNY", "count", "days", "months", "employees"])
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
EnumValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class FieldOut(BaseModel):
    """A field rules may reference: enough for a rule editor to offer it correctly."""

    key: str
    kind: Literal["profile", "metric", "custom"]
    type: FieldType
    unit: FieldUnit | None
    label: str = Field(description="Label in the negotiated language")
    label_zh: str
    label_en: str
    description: str
    enum_values: list[str] | None
    aliases_zh: list[str] = Field(description="Other Chinese names accepted in text rules")
    operators: list[Operator] = Field(description="Operators a condition on this field may use")


class FieldList(BaseModel):
    items: list[FieldOut]


class CustomFieldCreate(RequestBody):
    """A tenant-defined field, stored in each customer's `attributes` under `key`."""

    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = Field(
        examples=["credit_rating"]
    )
    type: FieldType
    label_zh: Label = Field(examples=["信用评级"])
    label_en: Label | None = Field(default=None, examples=["Credit rating"])
    description: Annotated[str, StringConstraints(max_length=1000)] | None = None
    unit: FieldUnit | None = None
    enum_values: Annotated[list[EnumValue], Field(min_length=1, max_length=200)] | None = None

    # The validator below, as JSON Schema: enum_values exactly when the type is enum.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"type": {"const": "enum"}}, "required": ["type"]},
            "then": {"required": ["enum_values"], "properties": {"enum_values": {"type": "array"}}},
            "else": {"properties": {"enum_values": {"type": "null"}}},
        }
    )

    @model_validator(mode="after")
    def _enum_values_only_for_enums(self) -> "CustomFieldCreate":
        if self.type == "enum" and not self.enum_values:
            raise ValueError("an enum field needs enum_values")
        if self.type != "enum" and self.enum_values is not None:
            raise ValueError("enum_values are only for enum fields")
        if self.enum_values and len(set(self.enum_values)) != len(self.enum_values):
            raise ValueError("enum_values must be distinct")
        return self


class CustomFieldUpdate(RequestBody):
    """Labels, description, unit and enum values may change; key and type may not."""

    label_zh: Label | None = None
    label_en: Label | None = None
    description: Annotated[str, StringConstraints(max_length=1000)] | None = None
    unit: FieldUnit | None = None
    enum_values: Annotated[list[EnumValue], Field(min_length=1, max_length=200)] | None = None


class CustomFieldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    type: FieldType
    label_zh: str
    label_en: str | None
    description: str | None
    unit: FieldUnit | None
    enum_values: list[str] | None
    created_at: datetime
    updated_at: datetime


class CustomFieldList(BaseModel):
    items: list[CustomFieldOut]


CUSTOM_FIELD_EXAMPLE = {
    "key": "credit_rating",
    "type": "enum",
    "label_zh": "信用评级",
    "label_en": "Credit rating",
    "description": "财务部门给出的信用等级",
    "unit": None,
    "enum_values": ["AAA", "AA", "A", "B"],
    "created_at": "2026-11-25T10:00:00+08:00",
    "updated_at": "2026-11-25T10:00:00+08:00",
}
FIELD_EXAMPLE = {
    "key": "order_amount_12m",
    "kind": "metric",
    "type": "number",
    "unit": "CNY",
    "label": "近12个月交易金额",
    "label_zh": "近12个月交易金额",
    "label_en": "Order amount (12 months)",
    "description": "as_of 前 12 个月内(不含起始日,含 as_of)有效订单金额合计",
    "enum_values": None,
    "aliases_zh": ["近12个月订单金额"],
    "operators": [
        "eq",
        "ne",
        "gt",
        "gte",
        "lt",
        "lte",
        "between",
        "in",
        "not_in",
        "is_null",
        "is_not_null",
    ],
}
