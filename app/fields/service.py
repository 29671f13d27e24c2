"""The tenant's field catalog and its custom fields."""

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import Audited
from app.catalog import FieldCatalog
from app.core.auth import Principal
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.etag import check_if_match
from app.core.i18n import Text
from app.core.sql import rows_written
from app.facts.fields import as_field_def, custom_fields, tenant_catalog
from app.facts.references import UsedByPublishedRules, rules_using_field
from app.fields.schemas import CustomFieldCreate, CustomFieldUpdate
from app.models import Customer, CustomField

AUDITED = Audited(
    "custom_field",
    ("key", "type", "label_zh", "label_en", "description", "unit", "enum_values"),
    id_attribute="key",
)


class CustomFieldNotFound(NotFound):
    default_detail = Text("找不到该自定义字段", "No such custom field")


class CustomFieldExists(Conflict):
    default_detail = Text("字段键已存在", "A field with this key already exists")


async def _field(
    session: AsyncSession, tenant_id: uuid.UUID, key: str, *, for_update: bool = False
) -> CustomField:
    statement = select(CustomField).where(
        CustomField.tenant_id == tenant_id, CustomField.key == key
    )
    if for_update:
        statement = statement.with_for_update()
    field = await session.scalar(statement)
    if field is None:
        raise CustomFieldNotFound
    return field


def _check_catalog(existing: list[CustomField], candidate: CustomField) -> None:
    # The catalog refuses keys and labels that would make rules ambiguous.
    try:
        FieldCatalog(as_field_def(f) for f in [*existing, candidate])
    except ValueError as exc:
        raise InvalidInput(
            Text(f"字段与已有字段冲突:{exc}", f"The field clashes with an existing one: {exc}"),
            errors=[{"loc": ["body"], "msg": str(exc), "type": "field_clash"}],
        ) from exc


async def create_custom_field(
    session: AsyncSession, principal: Principal, body: CustomFieldCreate
) -> CustomField:
    """Define a custom field; its key and labels must not clash with any other field."""
    existing = await custom_fields(session, principal.tenant_id)
    if any(f.key == body.key for f in existing):
        raise CustomFieldExists
    field = CustomField(tenant_id=principal.tenant_id, **body.model_dump())
    _check_catalog(existing, field)
    await AUDITED.write(session, principal, field, "create")
    return field


async def update_custom_field(
    session: AsyncSession,
    principal: Principal,
    key: str,
    changes: CustomFieldUpdate,
    if_match: str | None,
) -> CustomField:
    """Change labels, description, unit or enum values under If-Match."""
    field = await _field(session, principal.tenant_id, key, for_update=True)
    check_if_match(if_match, field.version)
    values = changes.model_dump(exclude_unset=True)
    if "enum_values" in values and field.type != "enum":
        raise InvalidInput(
            Text("只有枚举字段有枚举值", "Only enum fields have enum values"),
            errors=[{"loc": ["body", "enum_values"], "msg": "not an enum", "type": "not_enum"}],
        )
    if field.type == "enum" and values.get("enum_values", field.enum_values) is None:
        values.pop("enum_values")
    if values.get("label_zh", "") is None:
        values.pop("label_zh")
    before = AUDITED.snapshot(field)
    for name, value in values.items():
        setattr(field, name, value)
    others = [f for f in await custom_fields(session, principal.tenant_id) if f.key != key]
    _check_catalog(others, field)
    field.version += 1
    await AUDITED.write(session, principal, field, "update", before=before)
    return field


async def delete_custom_field(
    session: AsyncSession, principal: Principal, key: str, if_match: str | None
) -> int:
    """Delete a definition and remove its values from every customer (one UPDATE);
    returns how many customers had a value."""
    field = await _field(session, principal.tenant_id, key, for_update=True)
    check_if_match(if_match, field.version)
    catalog = await tenant_catalog(session, principal.tenant_id)
    rules = await rules_using_field(session, catalog, principal.tenant_id, key)
    if rules:
        raise UsedByPublishedRules(Text("字段", "field"), rules)
    cleared = await rows_written(
        session,
        update(Customer)
        .where(Customer.tenant_id == principal.tenant_id, Customer.attributes.has_key(key))
        .values(attributes=Customer.attributes.delete_path([key]), version=Customer.version + 1),
    )
    await AUDITED.delete(session, principal, field, after={"values_removed": cleared})
    return cleared
