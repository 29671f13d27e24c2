"""A tenant's published rules, read and parsed once per process while they stay the same.

Reclassifying a batch of customers (inbound webhooks: app/runs/many_customers.py) needs,
for every tree with a published ruleset, the parsed rules, the categories and a Python
evaluator with the cut points of its scores. Reading and parsing them costs more than
evaluating a batch, so they are kept per process, keyed by everything they are made of:
each tree's published version, the tree's and its categories' versions, the tenant's
custom fields, the latest succeeded run of the tree that has cut points, and the day.
One small query per batch reads that key; a batch whose key differs reads afresh.

The cut points of a score no run has are computed from the tenant's current values for
the call (app/facts/cut_points.py); such an evaluator is used for one batch and not kept.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from cachetools import LRUCache
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import FieldCatalog
from app.core.auth import Principal
from app.facts.cut_points import cut_points_for, latest_run_cut_points
from app.facts.fields import tenant_catalog
from app.models import Category, CategoryTree, CustomField, Run, RunCutPoint
from app.models.rules import RulesetVersion
from app.rules.language.evaluate import Evaluator
from app.rules.language.quantiles import score_keys
from app.runs.service import TreeToRun, trees_with_published_rules, with_published_versions

_TENANTS: Final = 256  # tenants whose rules one process keeps


@dataclass(frozen=True)
class PublishedTree:
    """One tree with its published rules and the evaluator of the day."""

    item: TreeToRun
    evaluator: Evaluator


@dataclass(frozen=True)
class Published:
    """Every tree of the tenant with a published ruleset (by tree key), and the catalog
    the rules were read against."""

    catalog: FieldCatalog
    trees: list[PublishedTree]


Key = tuple[Any, ...]
_cache: LRUCache[uuid.UUID, tuple[Key, Published]] = LRUCache(maxsize=_TENANTS)


def clear_published_cache() -> None:
    """Forget every tenant's rules (tests; a process never needs to)."""
    _cache.clear()


async def published_rules(session: AsyncSession, principal: Principal, day: date) -> Published:
    """The tenant's trees with published rules as of `day`, from this process' cache
    when nothing they are made of has changed."""
    key = await _key(session, principal.tenant_id, day)
    cached = _cache.get(principal.tenant_id)
    if cached is not None and cached[0] == key:
        return cached[1]
    catalog = await tenant_catalog(session, principal.tenant_id)
    items = await trees_with_published_rules(session, principal, None, catalog, required=False)
    trees, complete = [], True
    for item in items:
        keys = score_keys([item.rules])
        from_runs = await latest_run_cut_points(session, principal.tenant_id, item.tree.id, keys)
        if len(from_runs) < len(keys):
            # Some score has no run's cut points: today's values give them, for now only.
            complete = False
        cut_points = await cut_points_for(
            session, principal.tenant_id, item.tree.id, keys, day, catalog
        )
        trees.append(PublishedTree(item, Evaluator(item.rules, catalog, cut_points=cut_points)))
    published = Published(catalog, trees)
    if complete:
        _cache[principal.tenant_id] = (key, published)
    return published


async def _key(session: AsyncSession, tenant_id: uuid.UUID, day: date) -> Key:
    """What the tenant's published rules are made of, read in one statement: per tree with
    a published ruleset, the tree's version, the published version, its categories' count,
    versions and last change, the latest succeeded run with cut points; and the custom
    fields' count, versions and last change."""

    def categories(aggregate: Any) -> Any:
        return (
            select(aggregate)
            .where(Category.tenant_id == tenant_id, Category.tree_id == CategoryTree.id)
            .correlate(CategoryTree)
            .scalar_subquery()
        )

    def fields(aggregate: Any) -> Any:
        return select(aggregate).where(CustomField.tenant_id == tenant_id).scalar_subquery()

    cut_run = (
        select(RunCutPoint.run_id)
        .join(Run, (Run.tenant_id == RunCutPoint.tenant_id) & (Run.id == RunCutPoint.run_id))
        .where(
            RunCutPoint.tenant_id == tenant_id,
            RunCutPoint.tree_id == CategoryTree.id,
            Run.status == "succeeded",
        )
        .order_by(Run.created_at.desc(), Run.id.desc())
        .limit(1)
        .correlate(CategoryTree)
        .scalar_subquery()
    )
    columns = select(
        CategoryTree.id,
        CategoryTree.version,
        RulesetVersion.id,
        categories(func.count()),
        categories(func.sum(Category.version)),
        categories(func.max(Category.updated_at)),
        cut_run,
        fields(func.count()),
        fields(func.sum(CustomField.version)),
        fields(func.max(CustomField.updated_at)),
    )
    rows = await session.execute(
        with_published_versions(columns, tenant_id).order_by(CategoryTree.id)
    )
    return (day, *(tuple(row) for row in rows))
