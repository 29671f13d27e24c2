"""Classification runs: start one, list and read them, cancel one.

Starting a run records everything it will use — the published ruleset version of each
tree, the trees' categories numbered by slot, the fields its snapshot keeps — and queues
its first job in the same transaction; the rest happens in the worker (app/runs/tasks.py).
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import record_event
from app.catalog import FieldCatalog
from app.core.auth import Principal
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.i18n import Text
from app.core.pagination import PageParams, keyset_page
from app.facts.conditions import read_condition, read_ruleset
from app.facts.fields import tenant_catalog
from app.facts.snapshot_layout import SnapshotLayout
from app.facts.today import tenant_today
from app.jobs import queue
from app.models import Category, CategoryTree, Run, RunCategory, RunTree
from app.models.rules import Ruleset, RulesetVersion
from app.rules.language.tree import Ruleset as RuleTree
from app.rules.language.tree import iter_leaves
from app.runs.schemas import RunCreate, RunFilter

START_JOB = "run.start"


class RunNotFound(NotFound):
    default_detail = Text("找不到该分类运行", "No such classification run")


class RunTooLateToCancel(Conflict):
    default_detail = Text(
        "该运行已在应用结果或已结束,不能取消", "The run is applying its results or has ended"
    )


@dataclass(frozen=True)
class TreeToRun:
    """A tree with its published ruleset read against its categories."""

    tree: CategoryTree
    ruleset: Ruleset
    version: RulesetVersion
    rules: RuleTree
    categories: list[Category]


async def create_run(
    session: AsyncSession,
    principal: Principal,
    body: RunCreate,
    *,
    schedule_id: uuid.UUID | None = None,
) -> Run:
    """Record a run (started by `schedule_id`, if given) and queue it; 422 names every
    problem with the trees or the scope."""
    checked = await check_run(session, principal, body)
    trees = checked.trees
    run = Run(
        tenant_id=principal.tenant_id,
        mode=body.mode,
        as_of=body.as_of or tenant_today(principal),
        scope=checked.scope,
        fields=checked.layout.to_json(),
        created_by=principal.actor,
        schedule_id=schedule_id,
    )
    session.add(run)
    await session.flush()
    slot = 0
    for position, item in enumerate(trees):
        session.add(
            RunTree(
                tenant_id=run.tenant_id,
                run_id=run.id,
                position=position,
                tree_id=item.tree.id,
                ruleset_id=item.ruleset.id,
                version_id=item.version.id,
                version_number=item.version.number,
            )
        )
        codes = {c.id: c.code for c in item.categories}
        for category in item.categories:
            slot += 1
            session.add(
                RunCategory(
                    tenant_id=run.tenant_id,
                    run_id=run.id,
                    slot=slot,
                    position=position,
                    category_id=category.id,
                    code=category.code,
                    name=category.name,
                    path=[codes[i] for i in category.path],
                )
            )
    await queue.enqueue(session, tenant_id=run.tenant_id, kind=START_JOB, payload=_job(run))
    await session.flush()
    await session.refresh(run)
    record_event(
        session,
        principal,
        entity_type="run",
        entity_id=run.id,
        action="create",
        after={
            "mode": run.mode,
            "as_of": run.as_of.isoformat(),
            "scope": checked.scope,
            "trees": [str(t.tree.id) for t in trees],
        },
    )
    return run


@dataclass(frozen=True)
class CheckedRun:
    """A run request read against the tenant's trees and fields."""

    trees: list[TreeToRun]
    scope: dict[str, Any]
    layout: SnapshotLayout


async def check_run(
    session: AsyncSession, principal: Principal, body: RunCreate, *, required: bool = True
) -> CheckedRun:
    """The trees, scope and snapshot layout of a run as `body` asks for it; 422 names
    every problem with the trees or the scope. Not `required`: no tree with a published
    ruleset at all is no error (a schedule may be set up before any is published)."""
    catalog = await tenant_catalog(session, principal.tenant_id)
    trees = await trees_with_published_rules(
        session, principal, body.tree_ids, catalog, required=required
    )
    _check_masks_fit(trees)
    fields = {
        leaf.field for t in trees for rule in t.rules.rules for leaf in iter_leaves(rule.when)
    }
    scope = body.scope.model_dump(mode="json", exclude_none=True)
    if body.scope.type == "filter":
        condition = read_condition(body.scope.when, catalog, ("body", "scope", "when"))
        fields |= {leaf.field for leaf in iter_leaves(condition)}
    return CheckedRun(trees, scope, SnapshotLayout.for_fields(fields, catalog))


MAX_MULTI = 31  # a multi-assign tree's categories and rules are bits of an integer


def _check_masks_fit(trees: list[TreeToRun]) -> None:
    """A run keeps a multi-assign tree's sets as 31-bit masks (app/models/runs.py)."""
    errors = [
        {
            "loc": ["body", "tree_ids", index],
            "msg": f"a run classifies multi-assign trees of at most {MAX_MULTI} categories and "
            f"{MAX_MULTI} rules",
            "type": "multi_assign_too_large",
        }
        for index, item in enumerate(trees)
        if item.tree.multi_assign
        and (len(item.categories) > MAX_MULTI or len(item.rules.rules) > MAX_MULTI)
    ]
    if errors:
        raise InvalidInput(
            Text(
                f"多选分类维度的分类或规则超过 {MAX_MULTI} 个,无法运行",
                f"A multi-assign tree has more than {MAX_MULTI} categories or rules",
            ),
            errors=errors,
        )


def _job(run: Run) -> dict[str, str]:
    return {"run_id": str(run.id)}


_Statement = TypeVar("_Statement", bound=Select)


def with_published_versions(statement: _Statement, tenant_id: uuid.UUID) -> _Statement:
    """`statement` over the tenant's trees joined to their rulesets and the published
    version of each (trees without one left out)."""
    return (
        statement.join(
            Ruleset,
            (Ruleset.tenant_id == CategoryTree.tenant_id) & (Ruleset.tree_id == CategoryTree.id),
        )
        .join(
            RulesetVersion,
            (RulesetVersion.tenant_id == Ruleset.tenant_id)
            & (RulesetVersion.ruleset_id == Ruleset.id),
        )
        .where(CategoryTree.tenant_id == tenant_id, RulesetVersion.status == "published")
    )


async def trees_with_published_rules(
    session: AsyncSession,
    principal: Principal,
    tree_ids: list[uuid.UUID] | None,
    catalog: FieldCatalog,
    *,
    required: bool = True,
) -> list[TreeToRun]:
    """The listed trees (default: every tree with a published ruleset) with their rules,
    checked: 422 at body.tree_ids for an unknown tree or one without a published ruleset.
    Not `required`: none at all is no error."""
    published = await session.execute(
        with_published_versions(
            select(CategoryTree, Ruleset, RulesetVersion), principal.tenant_id
        ).order_by(CategoryTree.key)
    )
    by_tree = {tree.id: (tree, ruleset, version) for tree, ruleset, version in published.all()}
    errors = []
    if tree_ids is None:
        chosen = list(by_tree)
        if required and not chosen:
            raise InvalidInput(
                Text("没有已发布规则集的分类维度可运行", "No tree has a published ruleset to run"),
                errors=[
                    {
                        "loc": ["body", "tree_ids"],
                        "msg": "no published ruleset",
                        "type": "nothing_to_run",
                    }
                ],
            )
    else:
        chosen = tree_ids
        known = set(
            await session.scalars(
                select(CategoryTree.id).where(
                    CategoryTree.tenant_id == principal.tenant_id, CategoryTree.id.in_(tree_ids)
                )
            )
        )
        seen: set[uuid.UUID] = set()
        for index, tree_id in enumerate(tree_ids):
            loc = ["body", "tree_ids", index]
            if tree_id in seen:
                errors.append({"loc": loc, "msg": "listed twice", "type": "duplicate"})
            elif tree_id not in known:
                errors.append({"loc": loc, "msg": "no such tree", "type": "unknown_tree"})
            elif tree_id not in by_tree:
                errors.append(
                    {
                        "loc": loc,
                        "msg": "the tree has no published ruleset",
                        "type": "no_published_ruleset",
                    }
                )
            seen.add(tree_id)
    if errors:
        raise InvalidInput(Text("分类维度无法运行", "Some trees cannot be run"), errors=errors)
    trees = []
    for index, tree_id in enumerate(chosen):
        tree, ruleset, version = by_tree[tree_id]
        categories = list(
            await session.scalars(
                select(Category)
                .where(Category.tenant_id == tree.tenant_id, Category.tree_id == tree.id)
                .order_by(Category.level, Category.sort_order, Category.code)
            )
        )
        rules = read_ruleset(
            version.body,
            catalog,
            categories={c.code for c in categories},
            multi_assign=tree.multi_assign,
            loc=("body", "tree_ids", str(index)),
        )
        trees.append(TreeToRun(tree, ruleset, version, rules, categories))
    return trees


async def get_run(session: AsyncSession, principal: Principal, run_id: uuid.UUID) -> Run:
    """One run of the caller's tenant, else 404."""
    run = await session.scalar(
        select(Run)
        .where(Run.tenant_id == principal.tenant_id, Run.id == run_id)
        .execution_options(populate_existing=True)
    )
    if run is None:
        raise RunNotFound
    return run


async def list_runs(
    session: AsyncSession, principal: Principal, where: RunFilter, page: PageParams
) -> tuple[list[Run], str | None]:
    """The tenant's runs, newest first, by status, tree and creation time."""
    statement = select(Run).where(Run.tenant_id == principal.tenant_id)
    if where.status is not None:
        statement = statement.where(Run.status == where.status)
    if where.schedule_id is not None:
        statement = statement.where(Run.schedule_id == where.schedule_id)
    if where.tree_id is not None:
        statement = statement.where(
            select(RunTree.run_id)
            .where(
                RunTree.tenant_id == Run.tenant_id,
                RunTree.run_id == Run.id,
                RunTree.tree_id == where.tree_id,
            )
            .exists()
        )
    if where.since is not None:
        statement = statement.where(Run.created_at >= where.since)
    if where.until is not None:
        statement = statement.where(Run.created_at < where.until)
    return await keyset_page(session, statement, [Run.created_at, Run.id], page, descending=True)


@dataclass(frozen=True)
class RunTreeView:
    """A tree of a run with its key and name now (None if the tree was deleted)."""

    row: RunTree
    key: str | None
    name: str | None


@dataclass(frozen=True)
class RunView:
    run: Run
    trees: list[RunTreeView]
    categories: dict[int, RunCategory]


async def run_views(session: AsyncSession, runs: list[Run]) -> list[RunView]:
    """Runs with their trees and numbered categories (two queries for any number)."""
    if not runs:
        return []
    tenant_id = runs[0].tenant_id
    ids = [run.id for run in runs]
    trees = await session.execute(
        select(RunTree, CategoryTree.key, CategoryTree.name)
        .outerjoin(
            CategoryTree,
            (CategoryTree.tenant_id == RunTree.tenant_id) & (CategoryTree.id == RunTree.tree_id),
        )
        .where(RunTree.tenant_id == tenant_id, RunTree.run_id.in_(ids))
        .order_by(RunTree.run_id, RunTree.position)
    )
    by_run: dict[uuid.UUID, list[RunTreeView]] = {run_id: [] for run_id in ids}
    for row, key, name in trees.all():
        by_run[row.run_id].append(RunTreeView(row, key, name))
    counted = [run.id for run in runs if run.counts is not None]
    categories: dict[uuid.UUID, dict[int, RunCategory]] = {run_id: {} for run_id in ids}
    if counted:
        for category in await session.scalars(
            select(RunCategory).where(
                RunCategory.tenant_id == tenant_id, RunCategory.run_id.in_(counted)
            )
        ):
            categories[category.run_id][category.slot] = category
    return [RunView(run, by_run[run.id], categories[run.id]) for run in runs]


async def cancel_run(session: AsyncSession, principal: Principal, run_id: uuid.UUID) -> Run:
    """Cancel a queued or waiting run at once; ask a running one to stop before its next
    chunk (nothing it computed is applied). 409 once it applies results or has ended."""
    run = await session.scalar(
        select(Run).where(Run.tenant_id == principal.tenant_id, Run.id == run_id).with_for_update()
    )
    if run is None:
        raise RunNotFound
    if run.status in ("queued", "waiting"):
        await finish_cancelled(session, run)
    elif run.status == "running" and not await _applied_any(session, run):
        run.cancel_requested = True
    else:
        raise RunTooLateToCancel
    await session.flush()
    record_event(
        session,
        principal,
        entity_type="run",
        entity_id=run.id,
        action="cancel",
        after={"status": run.status, "cancel_requested": run.cancel_requested},
    )
    return run


async def _applied_any(session: AsyncSession, run: Run) -> bool:
    applied = await session.scalar(
        select(RunTree.position)
        .where(
            RunTree.tenant_id == run.tenant_id,
            RunTree.run_id == run.id,
            RunTree.applied_at.is_not(None),
        )
        .limit(1)
    )
    return applied is not None


async def finish_cancelled(session: AsyncSession, run: Run) -> None:
    """Mark a run cancelled and let go of its trees."""
    run.status = "cancelled"
    run.cancel_requested = True
    run.finished_at = datetime.now(UTC)
    await release_trees(session, run)


async def release_trees(session: AsyncSession, run: Run) -> None:
    """Let another apply run have the trees this run held."""
    await session.execute(
        update(RunTree)
        .where(RunTree.tenant_id == run.tenant_id, RunTree.run_id == run.id, RunTree.applying)
        .values(applying=False)
    )
