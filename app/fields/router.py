"""The field catalog (for rule editors) and custom fields."""

from fastapi import APIRouter, Response

from app.catalog import FieldDef, operators_for
from app.core.auth import EditorKey, ViewerKey
from app.core.deps import Session
from app.core.etag import IfMatch, set_etag
from app.core.i18n import current_locale
from app.core.openapi import documented
from app.core.routing import ApiRoute
from app.facts.fields import custom_fields, tenant_catalog
from app.fields import service
from app.fields.schemas import (
    CUSTOM_FIELD_EXAMPLE,
    FIELD_EXAMPLE,
    CustomFieldCreate,
    CustomFieldList,
    CustomFieldOut,
    CustomFieldUpdate,
    FieldList,
    FieldOut,
)

router = APIRouter(prefix="/api/v1/fields", tags=["fields"], route_class=ApiRoute)


def _field_out(field: FieldDef) -> FieldOut:
    english = current_locale.get() == "en"
    return FieldOut(
        key=field.key,
        kind=field.kind,
        type=field.type,
        unit=field.unit,
        label=field.label_en if english else field.label_zh,
        label_zh=field.label_zh,
        label_en=field.label_en,
        description=(field.description_en if english else field.description_zh) or "",
        enum_values=list(field.enum_values) if field.enum_values else None,
        aliases_zh=list(field.aliases_zh),
        operators=list(operators_for(field.type)),
    )


@router.get(
    "",
    response_model=FieldList,
    **documented("listFields", "List the field catalog", example={"items": [FIELD_EXAMPLE]}),
)
async def list_fields(principal: ViewerKey, session: Session) -> FieldList:
    """Every field a rule may reference — customer profile fields, metrics computed from
    activity as of a date, and the tenant's custom fields — with type, unit, allowed
    values, labels (zh-CN/en), description and the operators that apply."""
    catalog = await tenant_catalog(session, principal.tenant_id)
    return FieldList(items=[_field_out(f) for f in catalog])


@router.get(
    "/custom",
    response_model=CustomFieldList,
    **documented(
        "listCustomFields", "List custom fields", example={"items": [CUSTOM_FIELD_EXAMPLE]}
    ),
)
async def list_custom_fields(principal: ViewerKey, session: Session) -> CustomFieldList:
    """The tenant's custom fields, by key."""
    fields = await custom_fields(session, principal.tenant_id)
    return CustomFieldList(items=[CustomFieldOut.model_validate(f) for f in fields])


@router.post(
    "/custom",
    response_model=CustomFieldOut,
    **documented(
        "createCustomField",
        "Create a custom field",
        status_code=201,
        example=CUSTOM_FIELD_EXAMPLE,
        request_example={
            k: CUSTOM_FIELD_EXAMPLE[k]
            for k in ("key", "type", "label_zh", "label_en", "description", "enum_values")
        },
        errors=[409],
        etag=True,
    ),
)
async def create_custom_field(
    principal: EditorKey, session: Session, body: CustomFieldCreate, response: Response
) -> CustomFieldOut:
    """Define a typed field stored in customers' `attributes`; rules can use it at once.
    Keys and labels must not clash with built-in fields."""
    field = await service.create_custom_field(session, principal, body)
    set_etag(response, field.version)
    return CustomFieldOut.model_validate(field)


@router.patch(
    "/custom/{key}",
    response_model=CustomFieldOut,
    **documented(
        "updateCustomField",
        "Update a custom field",
        example=CUSTOM_FIELD_EXAMPLE,
        request_example={"label_en": "Credit grade"},
        errors=[404, 412],
        etag=True,
    ),
)
async def update_custom_field(
    principal: EditorKey,
    session: Session,
    key: str,
    changes: CustomFieldUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> CustomFieldOut:
    """Change labels, description, unit or enum values (key and type are fixed)."""
    field = await service.update_custom_field(session, principal, key, changes, if_match)
    set_etag(response, field.version)
    return CustomFieldOut.model_validate(field)


@router.delete(
    "/custom/{key}",
    **documented(
        "deleteCustomField", "Delete a custom field", status_code=204, errors=[404, 409, 412]
    ),
)
async def delete_custom_field(
    principal: EditorKey, session: Session, key: str, if_match: IfMatch = None
) -> Response:
    """Delete the definition and remove its values from every customer."""
    await service.delete_custom_field(session, principal, key, if_match)
    return Response(status_code=204)
