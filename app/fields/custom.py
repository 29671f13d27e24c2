"""Typing customers' `attributes` by the tenant's custom-field definitions."""

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import INTEGER_MAX, INTEGER_MIN, NUMBER_DIGITS
from app.core.i18n import Text
from app.models import CustomField


class InvalidAttribute(ValueError):
    """An attribute that does not fit its custom field; `key` names it."""

    def __init__(self, key: str, text: Text) -> None:
        super().__init__(text.en)
        self.key = key
        self.text = text


class AttributeTypes:
    """The tenant's custom fields, to check and normalise an `attributes` object."""

    def __init__(self, fields: dict[str, CustomField]) -> None:
        self.fields = fields

    def validate(self, attributes: dict[str, Any]) -> dict[str, Any]:
        """Attributes with values normalised to their JSON form; InvalidAttribute names the
        key."""
        clean: dict[str, Any] = {}
        for key, value in attributes.items():
            field = self.fields.get(key)
            if field is None:
                raise InvalidAttribute(
                    key,
                    Text(
                        f"未定义的自定义字段 {key!r}(请先在 /fields/custom 中定义)",
                        f"unknown custom field {key!r} (define it under /fields/custom)",
                    ),
                )
            clean[key] = None if value is None else _coerce(field, value)
        return clean


def _coerce(field: CustomField, value: Any) -> Any:
    kind = field.type
    problem = InvalidAttribute(
        field.key,
        Text(
            f"自定义字段 {field.key!r} 应为 {kind},收到 {value!r:.100}",
            f"custom field {field.key!r} expects {kind}, got {value!r:.100}",
        ),
    )
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise problem
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise problem from None
        if not number.is_finite() or (kind == "integer" and number != number.to_integral_value()):
            raise problem
        # Within what rules compare the field as (bigint; NUMBER_DIGITS digits), so a stored
        # value can never break a query or a rationale. Digits first: int() stays cheap.
        limit = NUMBER_DIGITS if kind == "number" else 19
        if number.adjusted() >= limit or (
            kind == "integer" and not INTEGER_MIN <= int(number) <= INTEGER_MAX
        ):
            raise _out_of_range(field.key, kind)
        if kind == "integer":
            return int(number)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "date":
        try:
            return (
                date.fromisoformat(value).isoformat() if isinstance(value, str) else _fail(problem)
            )
        except ValueError:
            raise problem from None
    if kind == "boolean":
        return value if isinstance(value, bool) else _fail(problem)
    if kind == "string":
        return value if isinstance(value, str) and len(value) <= 1000 else _fail(problem)
    if kind == "enum":
        if value not in (field.enum_values or []):
            allowed = ", ".join(field.enum_values or [])
            raise InvalidAttribute(
                field.key,
                Text(
                    f"自定义字段 {field.key!r} 应为以下之一:{allowed}",
                    f"custom field {field.key!r} must be one of: {allowed}",
                ),
            )
        return value
    if kind == "string_list":
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise problem
    raise problem


def _out_of_range(key: str, kind: str) -> InvalidAttribute:
    if kind == "integer":
        zh, en = f"{INTEGER_MIN} 到 {INTEGER_MAX}", f"{INTEGER_MIN} to {INTEGER_MAX}"
    else:
        zh, en = f"整数部分最多 {NUMBER_DIGITS} 位", f"at most {NUMBER_DIGITS} digits"
    return InvalidAttribute(
        key,
        Text(f"自定义字段 {key!r} 超出范围({zh})", f"custom field {key!r} is out of range ({en})"),
    )


def _fail(problem: InvalidAttribute) -> Any:
    raise problem


async def attribute_types(session: AsyncSession, tenant_id: uuid.UUID) -> AttributeTypes:
    """The tenant's custom-field definitions, loaded once per request."""
    rows = await session.scalars(select(CustomField).where(CustomField.tenant_id == tenant_id))
    return AttributeTypes({row.key: row for row in rows})
