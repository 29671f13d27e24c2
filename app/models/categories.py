"""Category trees, their categories, customers' assignments with history, change requests.

Invariants live in the schema wherever PostgreSQL can hold them, so that no code path
(a bulk statement, a future run, a race between two requests) can break them:

- a category's parent is in the same tree: the parent key is (tenant_id, tree_id, parent_id);
- `code` is unique in a tree, `name` among siblings (roots included: NULLS NOT DISTINCT);
- one default category per tree, always a root that applies to every customer;
- `path` (ids from the root down to the category itself) agrees with `level` and `id`;
- an assignment's category belongs to the assignment's tree, its customer to its tenant
  (composite foreign keys, which also imply the tenant: assignments and history carry no
  key to `tenants` of their own, one check per row less in a run's bulk writes);
- a tree without `multi_assign` holds at most one category per customer: every assignment
  carries its tree's `multi_assign` as `multi`, kept equal by a foreign key with ON UPDATE
  CASCADE, and a partial unique index on (tenant_id, tree_id, customer_id) WHERE NOT multi;
- a category that still holds assignments cannot be deleted (foreign key, no action).
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    Uuid,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, column_property, mapped_column

from app.models.base import (
    Base,
    TenantColumn,
    TenantScoped,
    TimeOrderedUUIDPrimaryKey,
    Timestamps,
    UUIDPrimaryKey,
    Versioned,
)

APPLIES_TO = ("all", "signed", "potential")
# `run`: a classification run; `manual_reclassify` and `webhook`: one customer
# reclassified on request or by an inbound event (`rule` is kept for older rows).
ASSIGNMENT_SOURCES = (
    "manual",
    "rule",
    "import",
    "reassign",
    "run",
    "manual_reclassify",
    "webhook",
)
CHANGE_REQUEST_STATUSES = ("pending", "approved", "rejected")
MAX_DEPTH_LIMIT = 6


def _known(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CategoryTree(UUIDPrimaryKey, TenantScoped, Timestamps, Versioned, Base):
    """分类维度: a dimension customers are sorted along (value, activity, risk …)."""

    __tablename__ = "category_trees"

    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(2000))
    max_depth: Mapped[int] = mapped_column(SmallInteger, server_default="3")
    requires_approval: Mapped[bool] = mapped_column(server_default="false")
    multi_assign: Mapped[bool] = mapped_column(server_default="false")
    # An apply run that moves a category's share by more than this many percentage
    # points since the tree's previous apply run records the drift (流失率异常波动).
    drift_threshold_pp: Mapped[float] = mapped_column(server_default="10")

    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        # Targets of the composite foreign keys of categories, assignments and history.
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "id", "multi_assign"),
        CheckConstraint(f"max_depth BETWEEN 1 AND {MAX_DEPTH_LIMIT}", name="max_depth_range"),
        CheckConstraint(
            "drift_threshold_pp > 0 AND drift_threshold_pp <= 100", name="drift_threshold_range"
        ),
        Index("ix_category_trees_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )


class Category(UUIDPrimaryKey, TenantScoped, Timestamps, Versioned, Base):
    """A category of a tree; `path` materialises its ancestry for set-based subtree work."""

    __tablename__ = "categories"

    tree_id: Mapped[uuid.UUID]
    parent_id: Mapped[uuid.UUID | None]
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(SmallInteger)
    # Ids from the root down to this category (inclusive): the subtree of X is every
    # category whose path contains X, and moving X rewrites the prefix of those paths.
    path: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()))
    applies_to: Mapped[str] = mapped_column(String(16), server_default="all")
    description: Mapped[str | None] = mapped_column(String(2000))
    sort_order: Mapped[int] = mapped_column(Integer, server_default="0")
    is_default: Mapped[bool] = mapped_column(server_default="false")
    # Playbook (差异化运营): what to do with the customers of this category.
    next_action: Mapped[str | None] = mapped_column(String(500))
    owner_role: Mapped[str | None] = mapped_column(String(100))
    sla_days: Mapped[int | None] = mapped_column(SmallInteger)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "tree_id"],
            ["category_trees.tenant_id", "category_trees.id"],
            ondelete="CASCADE",
        ),
        # The parent is in the same tree by construction; a parent with children cannot
        # be deleted (no action).
        ForeignKeyConstraint(
            ["tenant_id", "tree_id", "parent_id"],
            ["categories.tenant_id", "categories.tree_id", "categories.id"],
            name="fk_categories_parent_id_categories",
        ),
        UniqueConstraint("tenant_id", "tree_id", "id"),
        UniqueConstraint("tenant_id", "tree_id", "code"),
        # Roots have no parent; NULLS NOT DISTINCT makes their names unique too.
        UniqueConstraint(
            "tenant_id", "tree_id", "parent_id", "name", postgresql_nulls_not_distinct=True
        ),
        Index(
            "uq_categories_one_default_per_tree",
            "tenant_id",
            "tree_id",
            unique=True,
            postgresql_where=text("is_default"),
        ),
        CheckConstraint(f"level BETWEEN 1 AND {MAX_DEPTH_LIMIT}", name="level_range"),
        CheckConstraint(
            "cardinality(path) = level AND path[level] = id", name="path_matches_level"
        ),
        CheckConstraint("(parent_id IS NULL) = (level = 1)", name="roots_have_no_parent"),
        CheckConstraint(_known("applies_to", APPLIES_TO), name="applies_to_known"),
        CheckConstraint(
            "NOT is_default OR (parent_id IS NULL AND applies_to = 'all')",
            name="default_is_a_root_for_all",
        ),
        CheckConstraint("sla_days >= 0", name="sla_days_not_negative"),
    )


# The tree's default category, read with the tree (one index probe).
CategoryTree.default_category_id = column_property(
    select(Category.id)
    .where(
        Category.tenant_id == CategoryTree.tenant_id,
        Category.tree_id == CategoryTree.id,
        Category.is_default,
    )
    .correlate_except(Category)
    .scalar_subquery()
)


class Assignment(TimeOrderedUUIDPrimaryKey, TenantColumn, Timestamps, Versioned, Base):
    """A customer's current category in a tree (several in a multi-assign tree)."""

    __tablename__ = "assignments"

    tree_id: Mapped[uuid.UUID]
    customer_id: Mapped[uuid.UUID]
    category_id: Mapped[uuid.UUID]
    # The tree's multi_assign, kept equal by the foreign key below (ON UPDATE CASCADE);
    # it exists so that a partial unique index can hold "one category per customer".
    multi: Mapped[bool]
    source: Mapped[str] = mapped_column(String(20))
    # A manual decision that classification runs must not overwrite.
    locked: Mapped[bool] = mapped_column(server_default="false")
    reason: Mapped[str | None] = mapped_column(String(500))
    run_id: Mapped[uuid.UUID | None]
    assigned_by: Mapped[str] = mapped_column(String(255))
    assigned_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "tree_id", "multi"],
            ["category_trees.tenant_id", "category_trees.id", "category_trees.multi_assign"],
            name="fk_assignments_tree_id_category_trees",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "tree_id", "category_id"],
            ["categories.tenant_id", "categories.tree_id", "categories.id"],
            name="fk_assignments_category_id_categories",
        ),
        # The customer is the tenant's (and the tenant exists: no key of its own).
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "tree_id", "customer_id", "category_id"),
        Index(
            "uq_assignments_one_per_customer_unless_multi",
            "tenant_id",
            "tree_id",
            "customer_id",
            unique=True,
            postgresql_where=text("NOT multi"),
        ),
        Index(
            "ix_assignments_tenant_id_category_id_customer_id",
            "tenant_id",
            "category_id",
            "customer_id",
        ),
        Index("ix_assignments_tenant_id_customer_id", "tenant_id", "customer_id"),
        CheckConstraint(_known("source", ASSIGNMENT_SOURCES), name="source_known"),
    )


class AssignmentHistory(TimeOrderedUUIDPrimaryKey, TenantColumn, Base):
    """One change of a customer's category in a tree: from → to, by whom, why.

    Categories are remembered by id, code and name as they were, so the timeline stays
    readable after a category is renamed or deleted.
    """

    __tablename__ = "assignment_history"

    tree_id: Mapped[uuid.UUID]
    customer_id: Mapped[uuid.UUID]
    from_category_id: Mapped[uuid.UUID | None]
    from_code: Mapped[str | None] = mapped_column(String(64))
    from_name: Mapped[str | None] = mapped_column(String(100))
    to_category_id: Mapped[uuid.UUID | None]
    to_code: Mapped[str | None] = mapped_column(String(64))
    to_name: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20))
    run_id: Mapped[uuid.UUID | None]
    # The rule that decided a change made by rules (NULL: the default category, or a
    # change made by hand).
    rule_key: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "tree_id"],
            ["category_trees.tenant_id", "category_trees.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        # The timeline of a customer; and deleting a tree finds its history by index.
        Index(
            "ix_assignment_history_tenant_id_customer_id_at_id",
            "tenant_id",
            "customer_id",
            "at",
            "id",
        ),
        Index("ix_assignment_history_tenant_id_tree_id", "tenant_id", "tree_id"),
        CheckConstraint(_known("source", ASSIGNMENT_SOURCES), name="source_known"),
    )


class ChangeRequest(UUIDPrimaryKey, TenantScoped, Timestamps, Base):
    """审核: a change that waits for a second person's approval before it is applied.

    Generic over `kind` (category.create, category.update, category.move,
    category.delete, ruleset.publish …); `payload` is what the kind's applier needs,
    `diff` what a reviewer reads, `target_version` the version the change was made
    against (approving after the target changed is refused).
    """

    __tablename__ = "change_requests"

    kind: Mapped[str] = mapped_column(String(64))
    tree_id: Mapped[uuid.UUID | None]
    target_id: Mapped[uuid.UUID | None]
    target_version: Mapped[int | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    diff: Mapped[dict[str, Any]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    submitted_by: Mapped[str] = mapped_column(String(255))
    # The key the request was filed with: four-eyes treats one key as one person unless
    # a delegating key named its user both times (app.core.auth.same_person). Null only
    # for requests filed by a user before the key was kept.
    submitted_by_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(1000))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "tree_id"],
            ["category_trees.tenant_id", "category_trees.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint(_known("status", CHANGE_REQUEST_STATUSES), name="status_known"),
        CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)", name="decided_unless_pending"
        ),
        CheckConstraint("status <> 'rejected' OR reason IS NOT NULL", name="rejected_with_reason"),
        Index("ix_change_requests_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
        Index(
            "ix_change_requests_tenant_id_status_created_at", "tenant_id", "status", "created_at"
        ),
        Index("ix_change_requests_tenant_id_tree_id", "tenant_id", "tree_id"),
    )
