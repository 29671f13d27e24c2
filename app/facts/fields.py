"""The tenant's field catalog: the built-in fields plus the tenant's custom fields."""

import uuid
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import FieldCatalog, FieldDef, FieldType, FieldUnit
from app.models import CustomField


def as_field_def(field: CustomField) -> FieldDef:
    """A custom field as the rule language sees it."""
    return FieldDef(
        key=field.key,
        kind="custom",
        # A CHECK constraint holds `type` to the literals, the API schema `unit`.
        type=cast(FieldType, field.type),
        unit=cast(FieldUnit | None, field.unit),
        label_zh=field.label_zh,
        label_en=field.label_en or field.label_zh,
        description_zh=field.description or "",
        description_en=field.description or "",
        enum_values=tuple(field.enum_values) if field.enum_values else None,
    )


async def custom_fields(session: AsyncSession, tenant_id: uuid.UUID) -> list[CustomField]:
    """The tenant's custom field definitions, by key."""
    rows = await session.scalars(
        select(CustomField).where(CustomField.tenant_id == tenant_id).order_by(CustomField.key)
    )
    return list(rows)


async def tenant_catalog(session: AsyncSession, tenant_id: uuid.UUID) -> FieldCatalog:
    """Built-in fields plus the tenant's custom fields."""
    return FieldCatalog(as_field_def(f) for f in await custom_fields(session, tenant_id))
