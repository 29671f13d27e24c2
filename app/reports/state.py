"""Reports on the current state (the assignments now) and on how a tree's customers moved
between two runs, two days, or a run or day and now."""

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.categories.exceptions import TreeNotFound
from app.core.auth import Principal
from app.core.errors import InvalidInput
from app.core.i18n import Text
from app.facts.today import tenant_zone
from app.models import CategoryTree
from app.reports import figures, repository
from app.reports.schemas import (
    CategoryLabel,
    Crosstab,
    CrosstabAxis,
    Distribution,
    StateRef,
    Transition,
    TreeDistribution,
    TreeTransitions,
)
from app.runs.plan import load_plan
from app.runs.service import RunNotFound, get_run


async def distribution(
    session: AsyncSession, principal: Principal, tree_id: uuid.UUID | None
) -> Distribution:
    """Customers per category of each tree now (one tree with `tree_id`), shares of all
    the tenant's customers, against each tree's newest apply run."""
    tenant = principal.tenant_id
    trees = await repository.trees(session, tenant, [tree_id] if tree_id else None)
    if tree_id is not None and not trees:
        raise TreeNotFound
    ids = [t.id for t in trees]
    customers = await repository.customer_count(session, tenant)
    counts = await repository.assignment_counts(session, tenant, ids)
    classified = await repository.classified_customers(
        session, tenant, [t.id for t in trees if t.multi_assign]
    )
    categories = await repository.categories_of_trees(session, tenant, ids)
    previous = await repository.previous_apply_runs(session, tenant, ids, None)
    earlier = await repository.categories_of_runs(
        session, tenant, [run.id for run, _ in previous.values()]
    )
    out = []
    for tree in trees:
        own = [c for c in categories if c.tree_id == tree.id]
        labels = figures.of_tree(own)
        keyed: list[tuple[uuid.UUID | None, CategoryLabel]] = [(c.id, labels[c.id]) for c in own]
        by_category: dict[uuid.UUID | None, int] = {
            c.id: counts.get((tree.id, c.id), 0) for c in own
        }
        held = (
            classified.get(tree.id, 0)
            if tree.multi_assign
            else sum(n for (t, _), n in counts.items() if t == tree.id)
        )
        missing = customers - held
        if missing > 0:
            keyed.append((None, figures.unclassified()))
            by_category[None] = missing
        found = previous.get(tree.id)
        before: dict[uuid.UUID | None, int] | None = None
        before_customers = 0
        if found is not None:
            run, run_tree = found
            slots = earlier.get(run.id, {})
            before = {}
            for entry in (run.counts or {}).get("trees", []):
                if entry.get("position") == run_tree.position:
                    for slot, count in entry["categories"].items():
                        category = slots.get(int(slot))
                        if category is not None:
                            before[category.category_id] = count
            before_customers = int((run.counts or {}).get("customers", 0))
        out.append(
            TreeDistribution(
                tree_id=tree.id,
                key=tree.key,
                name=tree.name,
                multi_assign=tree.multi_assign,
                customers=customers,
                previous_run_id=found[0].id if found else None,
                previous_as_of=found[0].as_of if found else None,
                categories=figures.shares(keyed, by_category, customers, before, before_customers),
            )
        )
    return Distribution(customers=customers, trees=out)


async def crosstab(
    session: AsyncSession, principal: Principal, rows: uuid.UUID, cols: uuid.UUID
) -> Crosstab:
    """Customers now by category of `rows` × `cols` (未分类 for a customer a tree does
    not hold), with totals and seed 000's 潜力客户 cell highlighted."""
    if rows == cols:
        raise InvalidInput(
            Text("交叉分析需要两个不同的分类维度", "A cross-tab needs two different trees"),
            errors=[{"loc": ["query", "cols"], "msg": "same tree as rows", "type": "same_tree"}],
        )
    tenant = principal.tenant_id
    trees = {t.id: t for t in await repository.trees(session, tenant, [rows, cols])}
    if rows not in trees or cols not in trees:
        raise TreeNotFound
    counts = await repository.current_crosstab(session, tenant, rows, cols)
    categories = await repository.categories_of_trees(session, tenant, [rows, cols])
    axes = []
    keys: list[list[uuid.UUID | None]] = []
    for tree_id, side in ((rows, 0), (cols, 1)):
        own = [c for c in categories if c.tree_id == tree_id]
        labels = figures.of_tree(own)
        ids: list[uuid.UUID | None] = [c.id for c in own]
        shown: list[CategoryLabel] = [labels[c.id] for c in own]
        if any(key[side] is None for key in counts):
            ids.append(None)
            shown.append(figures.unclassified())
        keys.append(ids)
        tree = trees[tree_id]
        axes.append(CrosstabAxis(tree_id=tree.id, key=tree.key, name=tree.name, categories=shown))
    total = await repository.customer_count(session, tenant)
    return figures.crosstab(axes[0], axes[1], keys[0], keys[1], counts, total)


def parse_side(value: str | None, name: str) -> uuid.UUID | date | None:
    """A side of a comparison: a run id or a day (YYYY-MM-DD); None: now."""
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        pass
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            Text("应为运行 ID 或日期(YYYY-MM-DD)", "Expected a run id or a date (YYYY-MM-DD)"),
            errors=[{"loc": ["query", name], "msg": "not a run id or a date", "type": "side"}],
        ) from None


async def transitions(
    session: AsyncSession,
    principal: Principal,
    tree_id: uuid.UUID,
    source: str,
    target: str | None,
) -> TreeTransitions:
    """From → to counts of a tree between two runs or two days (a day: as the tree stood at
    the end of it in the tenant's time zone, from the assignment history), or from one of
    those to now. Single-assign trees (a run's report shows a multi-assign tree's moves)."""
    tenant = principal.tenant_id
    found = await repository.trees(session, tenant, [tree_id])
    if not found:
        raise TreeNotFound
    tree = found[0]
    if tree.multi_assign:
        raise InvalidInput(
            Text(
                "多选分类维度的变化请查看运行报告",
                "For a multi-assign tree, see a run's report for its moves",
            ),
            errors=[
                {"loc": ["query", "tree_id"], "msg": "multi-assign tree", "type": "multi_assign"}
            ],
        )
    sides = []
    refs = []
    names: dict[uuid.UUID, CategoryLabel] = {}
    for name, raw in (("from", source), ("to", target)):
        side = parse_side(raw, name)
        statement, ref = await _state(session, principal, tree, side, name, names)
        sides.append(statement)
        refs.append(ref)
    pairs = await repository.compare_states(session, sides[0], sides[1])
    labels = await _labels(session, principal, tree, pairs, names)
    items = []
    changed = 0
    for (before, after), count in sorted(pairs.items(), key=lambda kv: -kv[1]):
        if before != after:
            changed += count
        items.append(
            Transition(
                from_categories=[labels[before]] if before is not None else [],
                to_categories=[labels[after]] if after is not None else [],
                count=count,
            )
        )
    return TreeTransitions(
        tree_id=tree.id,
        key=tree.key,
        name=tree.name,
        source=refs[0],
        target=refs[1],
        customers=sum(pairs.values()),
        changed=changed,
        items=items,
    )


async def _state(
    session: AsyncSession,
    principal: Principal,
    tree: CategoryTree,
    side: uuid.UUID | date | None,
    name: str,
    names: dict[uuid.UUID, CategoryLabel],
) -> tuple[Select[Any], StateRef]:
    tenant = principal.tenant_id
    if side is None:
        return repository.current_state(tenant, tree.id), StateRef(kind="current")
    if isinstance(side, date):
        zone = tenant_zone(principal)
        until = datetime.combine(side + timedelta(days=1), time(), zone)
        return repository.state_at(tenant, tree.id, until), StateRef(kind="date", date=side)
    try:
        run = await get_run(session, principal, side)
    except RunNotFound:
        run = None
    plan = await load_plan(session, run) if run is not None and run.status == "succeeded" else None
    planned = plan.tree(tree.id) if plan is not None else None
    if run is None or planned is None:
        raise InvalidInput(
            Text(
                "该运行不存在、未成功或不包含此分类维度",
                "No succeeded run of this tree has that id",
            ),
            errors=[
                {"loc": ["query", name], "msg": "not a succeeded run of the tree", "type": "run"}
            ],
        )
    for category in planned.categories.values():
        names.setdefault(category.category_id, figures.of_run(category))
    return repository.run_state(run, planned), StateRef(kind="run", run_id=run.id)


async def _labels(
    session: AsyncSession,
    principal: Principal,
    tree: CategoryTree,
    pairs: dict[tuple[uuid.UUID | None, uuid.UUID | None], int],
    from_runs: dict[uuid.UUID, CategoryLabel],
) -> dict[uuid.UUID, CategoryLabel]:
    """Labels of the categories named: as they are now, else as a run or the history
    recorded them (deleted since)."""
    ids = {i for pair in pairs for i in pair if i is not None}
    categories = await repository.categories_of_trees(session, principal.tenant_id, [tree.id])
    labels = {i: label for i, label in figures.of_tree(categories).items() if i in ids}
    for i in ids - labels.keys():
        if i in from_runs:
            labels[i] = from_runs[i]
    missing = sorted(ids - labels.keys())
    remembered = await repository.history_names(session, principal.tenant_id, tree.id, missing)
    for i in missing:
        code, name = remembered.get(i, (None, None))
        labels[i] = CategoryLabel(id=i, code=code, name=name or "?", path=[code] if code else [])
    return labels
