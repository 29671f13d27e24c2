"""Rulesets and their versions (规则集).

A ruleset belongs to one tree (one ruleset per tree); its versions are numbered 1, 2, …
Drafts may be edited; a published version is immutable, and at most one version of a
ruleset is published at a time — a partial unique index, so no race can publish two.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TenantScoped, Timestamps, UUIDPrimaryKey, Versioned

VERSION_STATUSES = ("draft", "published", "retired")


class Ruleset(UUIDPrimaryKey, TenantScoped, Timestamps, Versioned, Base):
    __tablename__ = "rulesets"

    tree_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "tree_id"],
            ["category_trees.tenant_id", "category_trees.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "tree_id"),
        UniqueConstraint("tenant_id", "id"),
        Index("ix_rulesets_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )


class RulesetVersion(UUIDPrimaryKey, TenantScoped, Timestamps, Versioned, Base):
    __tablename__ = "ruleset_versions"

    ruleset_id: Mapped[uuid.UUID]
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default="draft")
    # Exactly the Rules JSON as submitted (a text `when` stays text).
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(String(1000))
    created_by: Mapped[str] = mapped_column(String(255))
    published_at: Mapped[datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "ruleset_id"], ["rulesets.tenant_id", "rulesets.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "ruleset_id", "number"),
        CheckConstraint("status IN ('draft', 'published', 'retired')", name="status_known"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint(
            "(status = 'draft') = (published_at IS NULL)", name="published_at_unless_draft"
        ),
        Index(
            "uq_ruleset_versions_one_published",
            "tenant_id",
            "ruleset_id",
            unique=True,
            postgresql_where=text("status = 'published'"),
        ),
    )
