"""GET/PUT /api/v1/industries: the tenant's industry list."""

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.auth import EditorKey, ViewerKey
from app.core.deps import Session
from app.core.openapi import documented
from app.core.routing import ApiRoute
from app.core.schemas import RequestBody
from app.industries import service

router = APIRouter(prefix="/api/v1/industries", tags=["customers"], route_class=ApiRoute)

IndustryCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^-]+(-[^-]+)*$"
    ),
]


class IndustryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(description="Hierarchical code: 制造业-电子")
    label_en: str | None


class IndustryIn(RequestBody):
    code: IndustryCode
    label_en: Annotated[str, StringConstraints(max_length=200)] | None = None


class IndustryList(BaseModel):
    items: list[IndustryOut]


class IndustryReplace(RequestBody):
    """The whole list; parents must be listed with their children."""

    items: Annotated[list[IndustryIn], Field(max_length=2000)]


_EXAMPLE = {
    "items": [
        {"code": "制造业", "label_en": "Manufacturing"},
        {"code": "制造业-电子", "label_en": "Manufacturing - Electronics"},
    ]
}


@router.get(
    "",
    response_model=IndustryList,
    **documented("listIndustries", "List the industry list", example=_EXAMPLE),
)
async def list_industries(principal: ViewerKey, session: Session) -> IndustryList:
    """The tenant's industry codes (seeded with the standard two-level hierarchy). Customer
    industries outside this list are accepted and reported by the data-quality check."""
    rows = await service.list_industries(session, principal.tenant_id)
    return IndustryList(items=[IndustryOut.model_validate(r) for r in rows])


@router.put(
    "",
    response_model=IndustryList,
    **documented(
        "replaceIndustries", "Replace the industry list", example=_EXAMPLE, request_example=_EXAMPLE
    ),
)
async def replace_industries(
    principal: EditorKey, session: Session, body: IndustryReplace
) -> IndustryList:
    """Replace the whole list (a child such as 制造业-电子 needs its parent 制造业)."""
    rows = await service.replace_industries(
        session, principal, [(i.code, i.label_en) for i in body.items]
    )
    return IndustryList(items=[IndustryOut.model_validate(r) for r in rows])
