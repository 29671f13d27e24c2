"""Change requests (审核) as the API shows and accepts them."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints

from app.core.schemas import RequestBody

Status = Literal["pending", "approved", "rejected"]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class ChangeRequestOut(BaseModel):
    """A change waiting for (or decided by) a second person.

    `diff` is what approving would apply: `before` and `after` of the fields it
    changes (null when the target is created or deleted) and its `effects`."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str = Field(examples=["category.create"])
    status: Status
    tree_id: uuid.UUID | None = None
    target_id: uuid.UUID | None = Field(
        default=None, description="The changed entity (null when creating)"
    )
    target_version: int | None = Field(
        default=None, description="Its version when the request was filed"
    )
    payload: dict[str, Any] = Field(description="The request as it will be applied")
    diff: dict[str, Any]
    note: str | None = Field(default=None, description="The submitter's note to reviewers")
    submitted_by: str
    submitted_at: datetime = Field(validation_alias="created_at")
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = Field(
        default=None, description="Why it was rejected (or an approval comment)"
    )
    result: dict[str, Any] | None = Field(default=None, description="What approving did")


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
