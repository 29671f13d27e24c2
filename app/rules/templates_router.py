"""Built-in templates from the seeds: list them, install one."""

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from app.categories.schemas import Playbook
from app.core.auth import EditorKey, ViewerKey
from app.core.deps import Session
from app.core.errors import NotFound
from app.core.i18n import Text, current_locale
from app.core.openapi import documented
from app.core.routing import ApiRoute
from app.rules import service
from app.rules.language.schema import RulesJson
from app.rules.templates import TEMPLATES

router = APIRouter(prefix="/api/v1/templates", tags=["rules"], route_class=ApiRoute)


class TemplateCategory(BaseModel):
    """A category a template installs, with its playbook."""

    code: str
    name: str
    name_en: str
    sort_order: int
    playbook: Playbook


class TemplateOut(BaseModel):
    key: str
    name: str
    seed: str = Field(description="The practice guide it comes from (shared/seeds)")
    description: str
    multi_assign: bool
    categories: list[TemplateCategory]
    ruleset: RulesJson = Field(description="The Rules JSON it publishes as version 1")


class TemplateList(BaseModel):
    items: list[TemplateOut]


class Installed(BaseModel):
    tree_id: str
    ruleset_id: str
    published_version: int


class TemplateNotFound(NotFound):
    default_detail = Text("没有这个模板", "No such template")


def _out(template: dict[str, Any]) -> TemplateOut:
    english = current_locale.get() == "en"
    return TemplateOut(
        key=template["key"],
        name=template["name_en"] if english else template["name"],
        seed=template["seed"],
        description=template["description"],
        multi_assign=template["multi_assign"],
        categories=template["categories"],
        ruleset=template["ruleset"],
    )


_EXAMPLE = _out(TEMPLATES["relationship"]).model_dump()


@router.get(
    "",
    response_model=TemplateList,
    **documented("listTemplates", "List built-in templates", example={"items": [_EXAMPLE]}),
)
async def list_templates(principal: ViewerKey) -> TemplateList:
    """The seed documents' dimensions as installable templates: 价值, 活跃度, 风险 (seed
    000), 客户关系划分 (seed 002) and the 003 grading groups."""
    return TemplateList(items=[_out(t) for t in TEMPLATES.values()])


@router.post(
    "/{key}/install",
    response_model=Installed,
    **documented(
        "installTemplate",
        "Install a template",
        status_code=201,
        example={
            "tree_id": "3d6f0a52-8c1e-4b7a-9e2d-5f4c3b2a1908",
            "ruleset_id": "4c2b1a09-8f7e-4d6c-9b5a-3e2d1c0b9a87",
            "published_version": 1,
        },
        errors=[404, 409],
    ),
)
async def install_template(
    principal: EditorKey,
    session: Session,
    key: Annotated[
        str,
        # Documented as the list it is; another key is a 404 like any unknown resource.
        Path(max_length=64, json_schema_extra={"enum": list(TEMPLATES)}),
    ],
) -> Installed:
    """Create the template's tree, its categories with playbooks and a published ruleset,
    in one transaction (409 if a tree with the same key exists)."""
    template = TEMPLATES.get(key)
    if template is None:
        raise TemplateNotFound
    tree, ruleset, version = await service.install_template(session, principal, template)
    return Installed(
        tree_id=str(tree.id), ruleset_id=str(ruleset.id), published_version=version.number
    )
