"""Assignments (a customer's category in a tree) and their history, as the API shows them."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from app.categories.schemas import CategoryRef
from app.core.bulk import ItemError
from app.core.schemas import IsoDate, RequestBody, exactly_one_of
from app.rules.language.schema import ExpressionJson

Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Source = Literal["manual", "rule", "import", "reassign", "run", "manual_reclassify", "webhook"]
MAX_CUSTOMERS = 10_000


class AssignmentSet(RequestBody):
    """A manual assignment (source `manual`)."""

    category_id: uuid.UUID
    locked: StrictBool = Field(
        default=False,
        description="Classification runs must not overwrite it (they report a conflict)",
    )
    reason: Reason | None = Field(default=None, examples=["年度战略合作协议"])


class BulkAssign(RequestBody):
    """Put up to 10,000 customers in one category (source `manual`): listed by id, or
    every customer matching a rule condition (`filter`, metrics as of `as_of`)."""

    model_config = ConfigDict(json_schema_extra=exactly_one_of("customer_ids", "filter"))

    category_id: uuid.UUID
    customer_ids: list[uuid.UUID] | None = Field(
        default=None, min_length=1, max_length=MAX_CUSTOMERS
    )
    filter: ExpressionJson | None = Field(
        default=None,
        description="A condition (JSON or text), e.g. `近12个月交易金额 >= 50万`",
        examples=['order_amount_12m >= 500000 and region = "上海"'],
    )
    as_of: IsoDate | None = None
    locked: StrictBool = False
    reason: Reason | None = None

    @model_validator(mode="after")
    def _ids_or_filter(self) -> "BulkAssign":
        if (self.customer_ids is None) == (self.filter is None):
            raise ValueError("give either customer_ids or filter")
        return self


class AssignmentOut(BaseModel):
    """One category a customer holds in a tree."""

    id: uuid.UUID
    category: CategoryRef
    source: Source
    locked: bool
    reason: str | None
    run_id: uuid.UUID | None
    assigned_by: str
    assigned_at: datetime


class TreeAssignments(BaseModel):
    """A customer's categories in one tree (at most one unless the tree is multi-assign);
    empty when the customer was never classified in it."""

    customer_id: uuid.UUID
    tree_id: uuid.UUID
    multi_assign: bool
    items: list[AssignmentOut]


class BulkAssignResult(BaseModel):
    """What a bulk assignment did; `errors` name failed customers by their index."""

    received: int
    created: int = Field(description="Customers newly classified in the tree")
    changed: int = Field(description="Customers moved from another category")
    unchanged: int = Field(description="Already in the category (lock and reason updated)")
    failed: int
    errors: list[ItemError]


class TreeRef(BaseModel):
    id: uuid.UUID
    key: str
    name: str


class HistoryCategory(BaseModel):
    """A category as it was named at the time (it may since be renamed or deleted)."""

    id: uuid.UUID
    code: str | None
    name: str | None


class HistoryItem(BaseModel):
    """One change of a customer's category: from → to, source, run, actor, reason, time."""

    id: uuid.UUID
    tree: TreeRef
    from_category: HistoryCategory | None = Field(description="null: newly classified")
    to_category: HistoryCategory | None = Field(description="null: removed (multi-assign)")
    source: Source
    run_id: uuid.UUID | None
    rule_key: str | None = Field(description="The rule that made a change by rules")
    actor: str
    reason: str | None
    at: datetime


CUSTOMER_ID = "5b0e3f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
TREE_ID = "3d6f0a52-8c1e-4b7a-9e2d-5f4c3b2a1908"
STRAT_MFG = {
    "id": "7b6a5f4e-3d2c-4b1a-9f8e-7d6c5b4a3f2e",
    "code": "STRAT_MFG",
    "name": "战略客户-制造业",
}
DEFAULT = {"id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "code": "DEFAULT", "name": "默认分类"}
ASSIGNMENT_SET_EXAMPLE = {
    "category_id": STRAT_MFG["id"],
    "locked": True,
    "reason": "年度战略合作协议",
}
ASSIGNMENT_EXAMPLE = {
    "id": "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
    "category": STRAT_MFG,
    "source": "manual",
    "locked": True,
    "reason": "年度战略合作协议",
    "run_id": None,
    "assigned_by": "user:张伟",
    "assigned_at": "2026-11-25T10:30:00+08:00",
}
TREE_ASSIGNMENTS_EXAMPLE = {
    "customer_id": CUSTOMER_ID,
    "tree_id": TREE_ID,
    "multi_assign": False,
    "items": [ASSIGNMENT_EXAMPLE],
}
BULK_ASSIGN_EXAMPLE = {
    "category_id": STRAT_MFG["id"],
    "customer_ids": [CUSTOMER_ID, "6c1f4a8b-2d3e-4f5a-9b6c-7d8e9f0a1b2c"],
    "locked": False,
    "reason": "2026年度大客户名单",
}
BULK_RESULT_EXAMPLE = {
    "received": 2,
    "created": 1,
    "changed": 0,
    "unchanged": 0,
    "failed": 1,
    "errors": [
        {
            "index": 1,
            "errors": [
                {"loc": ["customer_ids", 1], "msg": "找不到该客户", "type": "customer_not_found"}
            ],
        }
    ],
}
HISTORY_EXAMPLE = {
    "id": "8e7d6c5b-4a3f-4e2d-9c1b-0a9f8e7d6c5b",
    "tree": {"id": TREE_ID, "key": "value", "name": "价值维度"},
    "from_category": DEFAULT,
    "to_category": STRAT_MFG,
    "source": "manual",
    "run_id": None,
    "rule_key": None,
    "actor": "user:张伟",
    "reason": "年度战略合作协议",
    "at": "2026-11-25T10:30:00+08:00",
}
