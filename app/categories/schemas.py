"""Category trees and categories as the API shows and accepts them."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt, StringConstraints
from typing_extensions import TypeAliasType

from app.core.schemas import RequestBody
from app.models.categories import MAX_DEPTH_LIMIT

TreeKey = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]*$"
    ),
]
Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
    ),
]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
AppliesTo = TypeAliasType("AppliesTo", Literal["all", "signed", "potential"])
MaxDepth = Annotated[StrictInt, Field(ge=1, le=MAX_DEPTH_LIMIT)]
SortOrder = Annotated[StrictInt, Field(ge=-1_000_000, le=1_000_000)]


class Playbook(RequestBody):
    """差异化运营: what to do with the customers of a category, by whom, how soon."""

    next_action: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = (
        Field(default=None, examples=["销售总监/主管跟进,定期上门拜访,提供定制化方案"])
    )
    owner_role: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = (
        Field(default=None, examples=["销售总监"])
    )
    sla_days: Annotated[StrictInt, Field(ge=0, le=3650)] | None = Field(
        default=None, examples=[7], description="Days within which the next action is due"
    )


# --- trees ------------------------------------------------------------------------------


DriftThreshold = Annotated[
    StrictFloat,
    Field(
        gt=0,
        le=100,
        description="An apply run that moves a category's share of the customers by more "
        "than this many percentage points since the tree's previous apply run (same scope) "
        "records the drift and sends `run.drift_detected` (流失率异常波动)",
    ),
]


class TreeCreate(RequestBody):
    """A new category tree (分类维度); its default category is created with it."""

    key: TreeKey = Field(
        examples=["value"], description="Unique in the tenant: `^[a-z][a-z0-9_-]*$`"
    )
    name: Label = Field(examples=["价值维度"])
    name_en: Label | None = Field(default=None, examples=["Value"])
    description: Description | None = None
    max_depth: MaxDepth = Field(default=3, description="Levels allowed (1–6)")
    requires_approval: StrictBool = Field(
        default=False, description="Category edits become change requests (审核)"
    )
    multi_assign: StrictBool = Field(
        default=False, description="A customer may hold several categories of this tree"
    )
    drift_threshold_pp: DriftThreshold = 10.0


class TreeUpdate(RequestBody):
    """Fields to change; omitted ones keep their value."""

    key: TreeKey | None = None
    name: Label | None = None
    name_en: Label | None = None
    description: Description | None = None
    max_depth: MaxDepth | None = None
    requires_approval: StrictBool | None = None
    multi_assign: StrictBool | None = None
    drift_threshold_pp: DriftThreshold | None = None


class TreeOut(BaseModel):
    """A category tree."""

    id: uuid.UUID
    key: str
    name: str
    name_en: str | None
    label: str = Field(description="`name`, or `name_en` when the request asked for English")
    description: str | None
    max_depth: int
    requires_approval: bool
    multi_assign: bool
    drift_threshold_pp: float
    default_category_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


# --- categories -------------------------------------------------------------------------


class CategoryFields(RequestBody):
    """Fields shared by creating and editing a category."""

    name_en: Label | None = Field(default=None, examples=["Strategic"])
    applies_to: AppliesTo = Field(
        default="all", description="Customers it may hold by stage: all, signed or potential"
    )
    description: Description | None = Field(
        default=None, examples=["年采购金额超1000万元且合作时长≥2年的客户"]
    )
    sort_order: SortOrder = 0
    playbook: Playbook | None = None


class CategoryCreate(CategoryFields):
    """A new category: `code` unique in the tree, `name` unique among its siblings."""

    code: Code = Field(examples=["STRAT"])
    name: Label = Field(examples=["战略客户"])
    parent_id: uuid.UUID | None = Field(default=None, description="None for a top-level category")


class CategoryUpdate(RequestBody):
    """Fields to change; omitted ones keep their value, `null` clears an optional one.
    Moving is `POST …/move`."""

    code: Code | None = None
    name: Label | None = None
    name_en: Label | None = None
    applies_to: AppliesTo | None = None
    description: Description | None = None
    sort_order: SortOrder | None = None
    playbook: Playbook | None = None


class CategoryMove(RequestBody):
    """The new parent (`null`: make it a top-level category)."""

    parent_id: uuid.UUID | None
    sort_order: SortOrder | None = Field(default=None, description="Optionally, a new position")


class PlaybookOut(BaseModel):
    next_action: str | None
    owner_role: str | None
    sla_days: int | None


class CategoryOut(BaseModel):
    """A category with its place in the tree."""

    id: uuid.UUID
    tree_id: uuid.UUID
    parent_id: uuid.UUID | None
    code: str
    name: str
    name_en: str | None
    label: str = Field(description="`name`, or `name_en` when the request asked for English")
    level: int = Field(description="1 for top-level categories")
    path: list[str] = Field(description="Codes from the top-level category down to this one")
    path_ids: list[uuid.UUID] = Field(description="Ids from the top-level category down")
    applies_to: AppliesTo
    description: str | None
    sort_order: int
    is_default: bool
    playbook: PlaybookOut | None
    created_at: datetime
    updated_at: datetime


class CategoryNode(CategoryOut):
    """A category with its children (nested view)."""

    children: list["CategoryNode"]


class CategoryList(BaseModel):
    """Every category of a tree, depth first, siblings by `sort_order` then `code`.

    Not paginated: a tree is read whole (at most 2,000 categories)."""

    items: list[CategoryOut]


class CategoryForest(BaseModel):
    """The tree's top-level categories, each with its descendants nested (`?view=nested`)."""

    items: list[CategoryNode]


class CategoryRef(BaseModel):
    """A category named in another answer."""

    id: uuid.UUID
    code: str
    name: str


class RuleInVersion(BaseModel):
    """A rule that names the category (filled by the rules code)."""

    ruleset_id: uuid.UUID
    version: int
    rule_key: str


class CategoryImpact(BaseModel):
    """What deleting (or recoding) the category touches, counted now."""

    category_id: uuid.UUID
    customers_direct: int = Field(description="Customers assigned to the category itself")
    customers_in_descendants: int = Field(description="Customers assigned below it")
    children: int = Field(
        description="Direct children (a category with children cannot be deleted)"
    )
    descendants: int
    deletable: bool = Field(
        description="False for the default category and for a category with children"
    )
    reassign_to: CategoryRef | None = Field(
        description="Where a delete would move the customers (`?reassign_to=`, else the "
        "default category); null for the default category itself"
    )
    would_move: int = Field(description="Customers a delete would move now")
    rules: list[RuleInVersion] = Field(description="Rules that reference the category")


class CategoryDeleted(BaseModel):
    """A deleted category and where its customers went."""

    category_id: uuid.UUID
    reassigned_to: CategoryRef
    moved: int = Field(description="Customers moved, each with a history row (source reassign)")


class CustomerSummary(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    stage: str


class CategoryMember(BaseModel):
    """A customer assigned to the category (or, with include_descendants, below it)."""

    customer: CustomerSummary
    category: CategoryRef
    source: str
    locked: bool
    reason: str | None
    assigned_by: str
    assigned_at: datetime


# --- examples ---------------------------------------------------------------------------

TREE_ID = "3d6f0a52-8c1e-4b7a-9e2d-5f4c3b2a1908"
DEFAULT_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
STRAT_ID = "1f2e3d4c-5b6a-4978-8a1b-2c3d4e5f6a7b"
STRAT_MFG_ID = "7b6a5f4e-3d2c-4b1a-9f8e-7d6c5b4a3f2e"

TREE_CREATE_EXAMPLE = {
    "key": "value",
    "name": "价值维度",
    "name_en": "Value",
    "description": "按年采购金额划分战略/重点/普通客户",
    "max_depth": 3,
    "requires_approval": True,
    "multi_assign": False,
    "drift_threshold_pp": 10.0,
}
TREE_EXAMPLE = {
    "id": TREE_ID,
    **TREE_CREATE_EXAMPLE,
    "label": "价值维度",
    "default_category_id": DEFAULT_ID,
    "created_at": "2026-11-25T10:00:00+08:00",
    "updated_at": "2026-11-25T10:00:00+08:00",
}
CATEGORY_CREATE_EXAMPLE = {
    "code": "STRAT_MFG",
    "name": "战略客户-制造业",
    "name_en": "Strategic · manufacturing",
    "parent_id": STRAT_ID,
    "applies_to": "signed",
    "description": "本分类包含年采购金额超1000万元且合作时长≥2年的制造业客户",
    "sort_order": 1,
    "playbook": {
        "next_action": "销售总监/主管跟进,定期上门拜访,提供定制化方案",
        "owner_role": "销售总监",
        "sla_days": 7,
    },
}
CATEGORY_EXAMPLE = {
    "id": STRAT_MFG_ID,
    "tree_id": TREE_ID,
    "parent_id": STRAT_ID,
    "code": "STRAT_MFG",
    "name": "战略客户-制造业",
    "name_en": "Strategic · manufacturing",
    "label": "战略客户-制造业",
    "level": 2,
    "path": ["STRAT", "STRAT_MFG"],
    "path_ids": [STRAT_ID, STRAT_MFG_ID],
    "applies_to": "signed",
    "description": "本分类包含年采购金额超1000万元且合作时长≥2年的制造业客户",
    "sort_order": 1,
    "is_default": False,
    "playbook": CATEGORY_CREATE_EXAMPLE["playbook"],
    "created_at": "2026-11-25T10:05:00+08:00",
    "updated_at": "2026-11-25T10:05:00+08:00",
}
STRAT_EXAMPLE = {
    **CATEGORY_EXAMPLE,
    "id": STRAT_ID,
    "parent_id": None,
    "code": "STRAT",
    "name": "战略客户",
    "name_en": "Strategic",
    "label": "战略客户",
    "level": 1,
    "path": ["STRAT"],
    "path_ids": [STRAT_ID],
    "description": "年采购≥1000万元",
    "playbook": None,
}
DEFAULT_EXAMPLE = {
    **STRAT_EXAMPLE,
    "id": DEFAULT_ID,
    "code": "DEFAULT",
    "name": "默认分类",
    "name_en": "Default",
    "label": "默认分类",
    "path": ["DEFAULT"],
    "path_ids": [DEFAULT_ID],
    "applies_to": "all",
    "description": None,
    "sort_order": 0,
    "is_default": True,
}
CATEGORY_REF_EXAMPLE = {"id": DEFAULT_ID, "code": "DEFAULT", "name": "默认分类"}
IMPACT_EXAMPLE = {
    "category_id": STRAT_MFG_ID,
    "customers_direct": 120,
    "customers_in_descendants": 0,
    "children": 0,
    "descendants": 0,
    "deletable": True,
    "reassign_to": CATEGORY_REF_EXAMPLE,
    "would_move": 120,
    "rules": [],
}
DELETED_EXAMPLE = {"category_id": STRAT_MFG_ID, "reassigned_to": CATEGORY_REF_EXAMPLE, "moved": 120}
MEMBER_EXAMPLE = {
    "customer": {
        "id": "5b0e3f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
        "code": "C000123",
        "name": "上海华信电子科技有限公司",
        "stage": "signed",
    },
    "category": {"id": STRAT_MFG_ID, "code": "STRAT_MFG", "name": "战略客户-制造业"},
    "source": "manual",
    "locked": True,
    "reason": "年度战略合作协议",
    "assigned_by": "user:张伟",
    "assigned_at": "2026-11-25T10:30:00+08:00",
}
