"""Rulesets and versions: create, edit drafts, publish (directly or through approval)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import Audited
from app.catalog import FieldCatalog
from app.categories.change_requests.registry import (
    ApprovalResult,
    ensure_unchanged,
    register_change_kind,
)
from app.categories.change_requests.service import submit
from app.categories.definitions import create_tree_from_definition
from app.categories.service import get_tree
from app.core.auth import Principal
from app.core.errors import Conflict, NotFound
from app.core.etag import check_if_match
from app.core.i18n import Text
from app.core.pagination import PageParams
from app.facts.conditions import read_ruleset
from app.facts.fields import tenant_catalog
from app.facts.today import tenant_today
from app.models import CategoryTree, ChangeRequest
from app.models.rules import Ruleset, RulesetVersion
from app.rules import repository, trial
from app.rules.language.tree import Ruleset as RuleTree

RULESET_AUDIT = Audited("ruleset", ("tree_id", "name", "description"))
VERSION_AUDIT = Audited("ruleset_version", ("number", "status", "body", "note"))


class RulesetNotFound(NotFound):
    default_detail = Text("找不到该规则集", "No such ruleset")


class VersionNotFound(NotFound):
    default_detail = Text("找不到该规则集版本", "No such ruleset version")


class RulesetExists(Conflict):
    default_detail = Text("该分类维度已有规则集", "This tree already has a ruleset")


class VersionNotDraft(Conflict):
    default_detail = Text(
        "已发布或已停用的版本不可修改,请新建版本", "Only drafts can change; create a new version"
    )


@dataclass(frozen=True)
class RulesetNumbers:
    """A ruleset with the numbers of its published and latest versions."""

    ruleset: Ruleset
    published_version: int | None
    latest_version: int | None


async def with_version_numbers(
    session: AsyncSession, principal: Principal, rulesets: list[Ruleset]
) -> list[RulesetNumbers]:
    """Each ruleset with its published and latest version numbers (one query)."""
    numbers = await repository.version_numbers(
        session, principal.tenant_id, [r.id for r in rulesets]
    )
    return [RulesetNumbers(r, *numbers.get(r.id, (None, None))) for r in rulesets]


async def list_rulesets(
    session: AsyncSession, principal: Principal, tree_id: uuid.UUID | None, page: PageParams
) -> tuple[list[RulesetNumbers], str | None]:
    """One page of the tenant's rulesets (optionally of one tree)."""
    rows, next_cursor = await repository.page_of_rulesets(
        session, principal.tenant_id, tree_id, page
    )
    return await with_version_numbers(session, principal, rows), next_cursor


async def list_versions(
    session: AsyncSession, principal: Principal, ruleset_id: uuid.UUID
) -> list[RulesetVersion]:
    """Every version of a ruleset, oldest first (404 for an unknown ruleset)."""
    ruleset = await get_ruleset(session, principal, ruleset_id)
    return await repository.versions(session, principal.tenant_id, ruleset.id)


async def get_ruleset(
    session: AsyncSession, principal: Principal, ruleset_id: uuid.UUID, *, for_update: bool = False
) -> Ruleset:
    ruleset = await repository.ruleset(
        session, principal.tenant_id, ruleset_id, for_update=for_update
    )
    if ruleset is None:
        raise RulesetNotFound
    return ruleset


async def get_version(
    session: AsyncSession,
    principal: Principal,
    ruleset_id: uuid.UUID,
    number: int,
    *,
    for_update: bool = False,
) -> RulesetVersion:
    version = await repository.version(
        session, principal.tenant_id, ruleset_id, number, for_update=for_update
    )
    if version is None:
        raise VersionNotFound
    return version


@dataclass(frozen=True)
class TreeRules:
    """A version's rules read against its tree: what diff, lint and trials need."""

    tree: CategoryTree
    rules: RuleTree
    catalog: FieldCatalog
    codes: set[str]


async def read_for_tree(
    session: AsyncSession,
    principal: Principal,
    tree: CategoryTree,
    body: dict[str, Any],
    loc: tuple[str, ...] = ("body",),
) -> TreeRules:
    """Validate a Rules JSON body against the tenant's fields and the tree's categories."""
    catalog = await tenant_catalog(session, principal.tenant_id)
    codes = await repository.category_codes(session, principal.tenant_id, tree.id)
    ruleset = read_ruleset(body, catalog, categories=codes, multi_assign=tree.multi_assign, loc=loc)
    return TreeRules(tree, ruleset, catalog, codes)


async def rules_of_body(
    session: AsyncSession, principal: Principal, tree_id: uuid.UUID, body: dict[str, Any]
) -> TreeRules:
    """An unsaved Rules JSON body, validated like a draft of the tree's ruleset (422 with
    each problem under `body.ruleset`)."""
    tree = await get_tree(session, principal, tree_id)
    return await read_for_tree(session, principal, tree, body, loc=("body", "ruleset"))


async def rules_of_version(
    session: AsyncSession, principal: Principal, ruleset_id: uuid.UUID, number: int
) -> TreeRules:
    """The rules of a stored version, validated against its tree as it is now."""
    ruleset = await get_ruleset(session, principal, ruleset_id)
    version = await get_version(session, principal, ruleset.id, number)
    tree = await get_tree(session, principal, ruleset.tree_id)
    return await read_for_tree(session, principal, tree, version.body)


async def preview_rules(
    session: AsyncSession,
    principal: Principal,
    read: TreeRules,
    scope: tuple[str, list[uuid.UUID] | None, object],
    as_of: date | None,
    *,
    fresh: bool,
) -> trial.Preview:
    """A preview of rules read against their tree (a stored version's or an unsaved
    body's) over the scope (kind, customer ids, `when`), as of the day (default: the
    tenant's today)."""
    kind, customer_ids, when = scope
    return await trial.preview(
        session,
        principal.tenant_id,
        read.tree.id,
        read.rules,
        read.catalog,
        as_of or tenant_today(principal),
        trial.read_scope(kind, customer_ids, when, read.catalog),
        fresh=fresh,
    )


async def create_ruleset(
    session: AsyncSession,
    principal: Principal,
    tree_id: uuid.UUID,
    name: str,
    description: str | None,
) -> Ruleset:
    """A ruleset for a tree (one per tree: 409 for a second)."""
    tree = await get_tree(session, principal, tree_id)
    if await repository.ruleset_for_tree(session, principal.tenant_id, tree.id) is not None:
        raise RulesetExists
    ruleset = Ruleset(
        tenant_id=principal.tenant_id, tree_id=tree.id, name=name, description=description
    )
    await RULESET_AUDIT.write(session, principal, ruleset, "create")
    return ruleset


async def create_version(
    session: AsyncSession,
    principal: Principal,
    ruleset_id: uuid.UUID,
    body: dict[str, Any],
    note: str | None,
) -> RulesetVersion:
    """A new draft, numbered after the latest version (numbering serialised by a row lock)."""
    ruleset = await get_ruleset(session, principal, ruleset_id, for_update=True)
    tree = await get_tree(session, principal, ruleset.tree_id)
    await read_for_tree(session, principal, tree, body)
    latest = await session.scalar(
        select(func.max(RulesetVersion.number)).where(
            RulesetVersion.tenant_id == principal.tenant_id,
            RulesetVersion.ruleset_id == ruleset.id,
        )
    )
    version = RulesetVersion(
        tenant_id=principal.tenant_id,
        ruleset_id=ruleset.id,
        number=(latest or 0) + 1,
        body=body,
        note=note,
        created_by=principal.actor,
    )
    await VERSION_AUDIT.write(session, principal, version, "create")
    return version


async def update_draft(
    session: AsyncSession,
    principal: Principal,
    ruleset_id: uuid.UUID,
    number: int,
    body: dict[str, Any],
    if_match: str | None,
) -> RulesetVersion:
    """Replace a draft's body under If-Match; published versions are immutable (409)."""
    ruleset = await get_ruleset(session, principal, ruleset_id)
    version = await get_version(session, principal, ruleset.id, number, for_update=True)
    check_if_match(if_match, version.version)
    if version.status != "draft":
        raise VersionNotDraft
    tree = await get_tree(session, principal, ruleset.tree_id)
    await read_for_tree(session, principal, tree, body)
    await VERSION_AUDIT.update(session, principal, version, {"body": body})
    return version


async def publish(
    session: AsyncSession, principal: Principal, ruleset_id: uuid.UUID, number: int
) -> tuple[RulesetVersion, ChangeRequest | None]:
    """Publish a draft now, or — on a tree that requires approval — file a change request."""
    ruleset = await get_ruleset(session, principal, ruleset_id)
    version = await get_version(session, principal, ruleset.id, number)
    if version.status != "draft":
        raise VersionNotDraft
    tree = await get_tree(session, principal, ruleset.tree_id)
    if not tree.requires_approval:
        # apply_publish validates against the tree under its locks; no need to do it twice.
        return await apply_publish(session, principal, ruleset.id, number), None
    await read_for_tree(session, principal, tree, version.body)
    request = await submit(
        session,
        principal,
        kind="ruleset.publish",
        tree_id=tree.id,
        target_id=version.id,
        target_version=version.version,
        payload={"ruleset_id": str(ruleset.id), "number": number},
        diff={"ruleset": ruleset.name, "publish_version": number, "body": version.body},
        note=version.note,
    )
    return version, request


async def apply_publish(
    session: AsyncSession, principal: Principal, ruleset_id: uuid.UUID, number: int
) -> RulesetVersion:
    """Retire the published version and publish `number`, atomically."""
    ruleset = await get_ruleset(session, principal, ruleset_id, for_update=True)
    version = await get_version(session, principal, ruleset.id, number, for_update=True)
    if version.status != "draft":
        raise VersionNotDraft
    tree = await get_tree(session, principal, ruleset.tree_id)
    # Categories may have changed since the draft was saved: check again.
    await read_for_tree(session, principal, tree, version.body)
    now = datetime.now(UTC)
    await session.execute(
        update(RulesetVersion)
        .where(
            RulesetVersion.tenant_id == principal.tenant_id,
            RulesetVersion.ruleset_id == ruleset.id,
            RulesetVersion.status == "published",
        )
        .values(status="retired", version=RulesetVersion.version + 1)
    )
    version.status = "published"
    version.published_at = now
    version.published_by = principal.actor
    version.version += 1
    await VERSION_AUDIT.write(session, principal, version, "publish")
    return version


async def _approve_publish(
    session: AsyncSession, principal: Principal, request: ChangeRequest
) -> ApprovalResult:
    """Applier of `ruleset.publish` change requests (runs inside the approval)."""
    ruleset_id = uuid.UUID(request.payload["ruleset_id"])
    number = int(request.payload["number"])
    current = await repository.version(
        session, principal.tenant_id, ruleset_id, number, for_update=True
    )
    ensure_unchanged(request, current.version if current is not None else None)
    version = await apply_publish(session, principal, ruleset_id, number)
    return {"ruleset_id": str(ruleset_id), "published_version": version.number}


register_change_kind("ruleset.publish", _approve_publish)


async def install_template(
    session: AsyncSession, principal: Principal, template: dict[str, Any]
) -> tuple[CategoryTree, Ruleset, RulesetVersion]:
    """Tree, categories with playbooks, ruleset and published version 1, in the caller's
    transaction."""
    tree = await create_tree_from_definition(session, principal, template)
    ruleset = await create_ruleset(
        session, principal, tree.id, template["name"], template["description"]
    )
    version = await create_version(session, principal, ruleset.id, template["ruleset"], None)
    return tree, ruleset, await apply_publish(session, principal, ruleset.id, version.number)
