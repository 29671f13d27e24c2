"""Typing customers' `attributes` by the tenant's custom-field definitions."""

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import CustomField


class AttributeTypes:
    """The tenant's custom fields, to check and normalise an `attributes` object."""

    def __init__(self, fields: dict[str, CustomField]) -> None:
        self.fields = fields

    def validate(self, attributes: dict[str, Any]) -> dict[str, Any]:
        """Attributes with values normalised to their JSON form; ValueError names the key."""
        clean: dict[str, Any] = {}
        for key, value in attributes.items():
            field = self.fields.get(key)
            if field is None:
                raise ValueError(f"unknown custom field {key!r} (define it under /fields/custom)")
            clean[key] = None if value is None else _coerce(field, value)
        return clean


def _coerce(field: CustomField, value: Any) -> Any:
    kind = field.type
    problem = ValueError(f"custom field {field.key!r} expects {kind}, got {value!r}")
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise problem
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise problem from None
        if not number.is_finite():
            raise problem
        if kind == "integer":
            if number != number.to_integral_value():
                raise problem
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
            raise ValueError(f"custom field {field.key!r} must be one of {field.enum_values}")
        return value
    if kind == "string_list":
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise problem
    raise problem


def _fail(problem: ValueError) -> Any:
    raise problem


async def attribute_types(session: AsyncSession, tenant_id: uuid.UUID) -> AttributeTypes:
    """The tenant's custom-field definitions, loaded once per request."""
    rows = await session.scalars(select(CustomField).where(CustomField.tenant_id == tenant_id))
    return AttributeTypes({row.key: row for row in rows})
