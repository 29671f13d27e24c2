"""Change requests (审核) as the API shows and accepts them."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema
from typing_extensions import TypeAliasType

from app.categories.schemas import (
    AppliesTo,
    CategoryCreate,
    CategoryMove,
    CategoryRef,
    CategoryUpdate,
    RuleInVersion,
)
from app.core.openapi import component_schema
from app.core.schemas import RequestBody
from app.rules.language.schema import RulesJson

ChangeRequestStatus = TypeAliasType(
    "ChangeRequestStatus", Literal["pending", "approved", "rejected"]
)
ChangeKind = TypeAliasType(
    "ChangeKind",
    Literal[
        "category.create", "category.update", "category.move", "category.delete", "ruleset.publish"
    ],
)
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


# A member that is left out when it does not apply (never null).
Absent = SkipJsonSchema[None]


def _without_null_defaults(schema: dict[str, Any]) -> None:
    # Members typed `| Absent` are optional, not nullable: no `"default": null`.
    for member in schema.get("properties", {}).values():
        if member.get("default", ...) is None and "anyOf" not in member:
            member.pop("default")


class _Sometimes(BaseModel):
    """Members by kind: those that do not apply are absent."""

    model_config = ConfigDict(json_schema_extra=_without_null_defaults)


# What a change request holds, by kind. The service stores them as JSON and shows them
# as stored (each kind's code writes them); these models document them.


class CategoryDeletion(BaseModel):
    """The payload of a `category.delete` request: where the category's customers go."""

    reassign_to: uuid.UUID | None = Field(
        description="The category that takes its customers (null: the tree's default)"
    )


class RulesetPublication(BaseModel):
    """The payload of a `ruleset.publish` request: the draft version to publish."""

    ruleset_id: uuid.UUID
    number: int


ChangePayload = TypeAliasType(
    "ChangePayload",
    Annotated[
        CategoryCreate | CategoryUpdate | CategoryMove | CategoryDeletion | RulesetPublication,
        Field(
            description="The request as it will be applied, by `kind`: `category.create` a "
            "CategoryCreate, `category.update` a CategoryUpdate (the fields sent), "
            "`category.move` a CategoryMove, `category.delete` a CategoryDeletion, "
            "`ruleset.publish` a RulesetPublication"
        ),
    ],
)


class CategoryState(_Sometimes):
    """A category's fields in a change request's diff: all of them for a creation's
    `after` and a deletion's `before`, the changed ones for an update, the position for
    a move (fields not shown are absent)."""

    code: str | Absent = None
    name: str | Absent = None
    name_en: str | None = None
    parent: CategoryRef | None = Field(default=None, description="Creations and moves")
    parent_id: uuid.UUID | None = Field(default=None, description="Deletions")
    level: int | Absent = None
    applies_to: AppliesTo | Absent = None
    description: str | None = None
    sort_order: int | Absent = None
    next_action: str | None = Field(default=None, description="The playbook's fields")
    owner_role: str | None = None
    sla_days: int | None = None


class CategoryEffects(_Sometimes):
    """What else approving a category change would do (members by kind; `{}` when
    nothing)."""

    rules: list[RuleInVersion] | Absent = Field(
        default=None, description="Updates: rules that name the category"
    )
    categories_moved: int | Absent = Field(
        default=None, description="Moves: categories moved, the subtree included"
    )
    reassign_to: CategoryRef | Absent = Field(
        default=None, description="Deletions: the category that takes the customers"
    )
    customers_moved: int | Absent = Field(
        default=None, description="Deletions: customers that would move"
    )


class CategoryDiff(BaseModel):
    """What approving a `category.*` request would apply."""

    # Defaults for the examples of 202 answers, which lose their null members.
    target: CategoryRef | None = Field(
        default=None, description="The category (null when creating)"
    )
    before: CategoryState | None = Field(default=None, description="Null when creating")
    after: CategoryState | None = Field(default=None, description="Null when deleting")
    effects: CategoryEffects


class PublicationDiff(BaseModel):
    """What approving a `ruleset.publish` request would apply: the version's rules."""

    ruleset: str = Field(description="The ruleset's name")
    publish_version: int
    body: RulesJson


ChangeDiff = TypeAliasType(
    "ChangeDiff",
    Annotated[
        CategoryDiff | PublicationDiff,
        Field(
            description="What approving would apply, by `kind`: a CategoryDiff for "
            "`category.*`, a PublicationDiff for `ruleset.publish`"
        ),
    ],
)


class ChangeResult(_Sometimes):
    """What approving did (members by `kind`; ids as text, counts as numbers)."""

    category_id: uuid.UUID | Absent = Field(
        default=None, description="`category.*`: the category created or changed"
    )
    version: int | Absent = Field(default=None, description="`category.update`: its new version")
    categories_moved: int | Absent = Field(default=None, description="`category.move`")
    reassigned_to: uuid.UUID | Absent = Field(
        default=None, description="`category.delete`: the category that took the customers"
    )
    moved: int | Absent = Field(default=None, description="`category.delete`: customers moved")
    ruleset_id: uuid.UUID | Absent = Field(default=None, description="`ruleset.publish`")
    published_version: int | Absent = Field(default=None, description="`ruleset.publish`")


class ChangeRequestOut(BaseModel):
    """A change waiting for (or decided by) a second person.

    `diff` is what approving would apply: `before` and `after` of the fields it
    changes (null when the target is created or deleted) and its `effects`."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: ChangeKind = Field(examples=["category.create"])
    status: ChangeRequestStatus
    tree_id: uuid.UUID | None = None
    target_id: uuid.UUID | None = Field(
        default=None, description="The changed entity (null when creating)"
    )
    target_version: int | None = Field(
        default=None, description="Its version when the request was filed"
    )
    payload: Annotated[dict[str, Any], component_schema(ChangePayload)]
    diff: Annotated[dict[str, Any], component_schema(ChangeDiff)]
    note: str | None = Field(default=None, description="The submitter's note to reviewers")
    submitted_by: str
    submitted_at: datetime = Field(validation_alias="created_at")
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = Field(
        default=None, description="Why it was rejected (or an approval comment)"
    )
    result: Annotated[dict[str, Any], component_schema(ChangeResult)] | None = Field(
        default=None, description="What approving did (null until approved)"
    )


class ApproveBody(RequestBody):
    """An optional comment recorded with the approval, shown as the request's `reason`
    (as a rejection's; `comment`, its earlier name, is still accepted)."""

    reason: Reason | None = Field(
        default=None,
        validation_alias=AliasChoices("reason", "comment"),
        examples=["符合2024年大客户管理策略"],
    )


class RejectBody(RequestBody):
    """Why the change is rejected (required)."""

    reason: Reason = Field(examples=["分类层级错误,需重新设置二级分类关联上级"])


CHANGE_REQUEST_EXAMPLE = {
    "id": "4c3b2a19-0f8e-4d7c-9b6a-5f4e3d2c1b0a",
    "kind": "category.create",
    "status": "pending",
    "tree_id": "3d6f0a52-8c1e-4b7a-9e2d-5f4c3b2a1908",
    "target_id": None,
    "target_version": None,
    "payload": {"code": "STRAT", "name": "战略客户", "applies_to": "signed"},
    "diff": {
        "target": None,
        "before": None,
        "after": {
            "code": "STRAT",
            "name": "战略客户",
            "parent": None,
            "level": 1,
            "applies_to": "signed",
        },
        "effects": {},
    },
    "note": "新增战略客户分类,适配2024年大客户管理策略",
    "submitted_by": "user:张伟",
    "submitted_at": "2026-11-25T10:00:00+08:00",
    "decided_by": None,
    "decided_at": None,
    "reason": None,
    "result": None,
}
APPROVED_EXAMPLE = {
    **CHANGE_REQUEST_EXAMPLE,
    "status": "approved",
    "decided_by": "user:李娜",
    "decided_at": "2026-11-25T11:00:00+08:00",
    "reason": "符合2024年大客户管理策略",
    "result": {"category_id": "1f2e3d4c-5b6a-4978-8a1b-2c3d4e5f6a7b"},
}
REJECTED_EXAMPLE = {
    **CHANGE_REQUEST_EXAMPLE,
    "status": "rejected",
    "decided_by": "user:李娜",
    "decided_at": "2026-11-25T11:00:00+08:00",
    "reason": "分类层级错误,需重新设置二级分类关联上级",
}
TARGET = {
    "id": "7b6a5f4e-3d2c-4b1a-9f8e-7d6c5b4a3f2e",
    "code": "STRAT_MFG",
    "name": "战略客户-制造业",
}
FILED_EXAMPLES: dict[str, dict[str, Any]] = {
    "category.create": CHANGE_REQUEST_EXAMPLE,
    "category.update": {
        **CHANGE_REQUEST_EXAMPLE,
        "kind": "category.update",
        "note": "名称突出高端制造",
        "target_id": TARGET["id"],
        "target_version": 3,
        "payload": {"name": "战略客户-高端制造"},
        "diff": {
            "target": TARGET,
            "before": {"name": "战略客户-制造业"},
            "after": {"name": "战略客户-高端制造"},
            "effects": {"rules": []},
        },
    },
    "category.move": {
        **CHANGE_REQUEST_EXAMPLE,
        "kind": "category.move",
        "note": "调整为一级分类",
        "target_id": TARGET["id"],
        "target_version": 3,
        "payload": {"parent_id": None, "sort_order": None},
        "diff": {
            "target": TARGET,
            "before": {
                "parent": {
                    "id": "1f2e3d4c-5b6a-4978-8a1b-2c3d4e5f6a7b",
                    "code": "STRAT",
                    "name": "战略客户",
                },
                "level": 2,
                "sort_order": 1,
            },
            "after": {"parent": None, "level": 1, "sort_order": 1},
            "effects": {"categories_moved": 1},
        },
    },
    "category.delete": {
        **CHANGE_REQUEST_EXAMPLE,
        "kind": "category.delete",
        "note": "该分类已停用",
        "target_id": TARGET["id"],
        "target_version": 3,
        "payload": {"reassign_to": None},
        "diff": {
            "target": TARGET,
            "before": {"code": "STRAT_MFG", "name": "战略客户-制造业"},
            "after": None,
            "effects": {
                "reassign_to": {
                    "id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                    "code": "DEFAULT",
                    "name": "默认分类",
                },
                "customers_moved": 120,
            },
        },
    },
}


def accepted_example(kind: str) -> dict[str, Any]:
    """The 202 example of an edit filed for approval. FastAPI drops null members from
    examples of secondary responses, so they are left out here (the schema gives those
    fields defaults)."""

    def without_nulls(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_nulls(v) for k, v in value.items() if v is not None}
        return value

    return without_nulls(FILED_EXAMPLES[kind])


@dataclass(frozen=True)
class ChangeRequestFilter:
    """Which change requests to list (every filter optional)."""

    status: str | None = None
    tree_id: uuid.UUID | None = None
    submitted_by: str | None = None
    kind: str | None = None
