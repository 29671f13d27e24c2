"""The queries behind reports: aggregates over a run's stored results, over the current
assignments and over the assignment history, each one statement whatever the number of
customers. Only small aggregates (a few rows per category) come back to Python, except
the customer list, which streams."""

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Row,
    Select,
    String,
    and_,
    any_,
    column,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    values,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.sql import rows_written, uuid_array
from app.facts.snapshot_layout import Slot
from app.models import (
    Assignment,
    AssignmentHistory,
    Category,
    CategoryTree,
    Customer,
    Job,
    ReportExport,
    ReportExportChunk,
    Run,
    RunCategory,
    RunResult,
    RunTree,
)
from app.runs.layout import category_index, flags_index, previous_index, rule_index
from app.runs.plan import TreePlan

# --- a run's results -------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeGroups:
    """Counts of a run's results per tree by (category, previous) entries, and by the
    categories of two trees (the cross-tab)."""

    transitions: dict[int, dict[tuple[int, int], int]]  # position → (entry, previous) → n
    pair: dict[tuple[int, int], int]  # (entry of the rows tree, of the cols tree) → n


async def outcome_groups(
    session: AsyncSession, run: Run, positions: Sequence[int], pair: tuple[int, int] | None
) -> OutcomeGroups:
    """One pass over the run's results: customers per distinct outcome (GROUP BY the
    whole array — one hash per row, and PostgreSQL aggregates it in parallel), then the
    few distinct outcomes are folded per tree and pair here. The entries are slots, or a
    multi-assign tree's masks. (GROUPING SETS per tree measured 2.5× slower at 100k.)"""
    rows = await session.execute(
        select(RunResult.outcome, func.count())
        .where(RunResult.tenant_id == run.tenant_id, RunResult.run_id == run.id)
        .group_by(RunResult.outcome)
    )
    transitions: dict[int, dict[tuple[int, int], int]] = {p: {} for p in positions}
    pairs: dict[tuple[int, int], int] = {}
    for outcome, count in rows.all():
        for p in positions:
            key = (outcome[category_index(p) - 1], outcome[previous_index(p) - 1])
            transitions[p][key] = transitions[p].get(key, 0) + count
        if pair is not None:
            crossed = (outcome[category_index(pair[0]) - 1], outcome[category_index(pair[1]) - 1])
            pairs[crossed] = pairs.get(crossed, 0) + count
    return OutcomeGroups(transitions, pairs)


async def flagged_results(
    session: AsyncSession, run: Run, flag_positions: Sequence[int], flag: int, limit: int
) -> list[tuple[uuid.UUID, str, str, list[int]]]:
    """`limit` results carrying `flag` in any of the trees at `flag_positions` (customer
    id, code, name, outcome), the first in the order of the partial index on flagged
    results: no sort of every flagged result (at 1M customers half may be borderline in
    some tree); the caller orders the few it shows."""
    if not flag_positions:
        return []
    outcome = RunResult.outcome
    flagged = or_(*(outcome[flags_index(p)].op("&")(flag) != 0 for p in flag_positions))
    rows = await session.execute(
        select(RunResult.customer_id, Customer.code, Customer.name, RunResult.outcome)
        .join(
            Customer,
            (Customer.tenant_id == RunResult.tenant_id) & (Customer.id == RunResult.customer_id),
        )
        .where(
            RunResult.tenant_id == run.tenant_id,
            RunResult.run_id == run.id,
            RunResult.attention != 0,  # the partial index holds the flagged results only
            RunResult.attention.op("&")(flag) != 0,
            flagged,
        )
        .order_by(RunResult.customer_id)
        .limit(limit)
    )
    found = [(r[0], r[1], r[2], list(r[3])) for r in rows.all()]
    return sorted(found, key=lambda r: r[1])


# The columns of a customer-list line, before the values of the tree's fields.
LIST_COLUMNS = (
    "code",
    "name",
    "category",
    "category_path",
    "previous",
    "changed",
    "rule",
    "next_action",
    "owner_role",
    "sla_days",
    "borderline",
    "locked_conflict",
)


async def stream_customer_list(
    session: AsyncSession,
    run: Run,
    tree: TreePlan,
    fields: Sequence[Slot],
    batch: int,
    default_rule: str,
) -> AsyncIterator[Sequence[Row[Any]]]:
    """The run's customers in one tree, by category then customer code, `batch` lines at
    a time (a server-side cursor): `LIST_COLUMNS`, then the values of `fields` from the
    run's snapshot. Names, the rule and the next action (the rule's, else the category's
    playbook) are joined in SQL, so Python only writes the lines."""
    outcome = RunResult.outcome
    entry = outcome[category_index(tree.position)]
    flags = outcome[flags_index(tree.position)]
    held = aliased_run_categories("held")
    before = aliased_run_categories("before")
    playbook = select(Category).subquery("playbook")
    rules = _rules_table(tree)
    if tree.multi:
        in_category = (
            entry.op("&")(literal(1, Integer).op("<<")(held.c.slot - tree.first_slot)) != 0
        )
        rule_matches = and_(
            outcome[rule_index(tree.position)].op("&")(
                literal(1, Integer).op("<<")(rules.c.number - 1)
            )
            != 0,
            rules.c.category == held.c.code,
        )
        previous_matches = false()
    else:
        in_category = entry == held.c.slot
        rule_matches = rules.c.number == outcome[rule_index(tree.position)]
        previous_matches = before.c.slot == outcome[previous_index(tree.position)]
    statement = (
        select(
            Customer.code,
            Customer.name,
            held.c.name,
            func.array_to_string(held.c.path, " / "),
            before.c.name,
            flags.op("&")(1) != 0,
            func.coalesce(rules.c.name, literal(default_rule)),
            func.coalesce(rules.c.next_action, playbook.c.next_action),
            playbook.c.owner_role,
            playbook.c.sla_days,
            flags.op("&")(2) != 0,
            flags.op("&")(4) != 0,
            *(getattr(RunResult, f.array)[f.index] for f in fields),
        )
        .select_from(RunResult)
        .join(
            Customer,
            (Customer.tenant_id == RunResult.tenant_id) & (Customer.id == RunResult.customer_id),
        )
        .join(
            held,
            and_(
                held.c.tenant_id == RunResult.tenant_id,
                held.c.run_id == RunResult.run_id,
                held.c.position == tree.position,
                in_category,
            ),
        )
        .outerjoin(
            before,
            and_(
                before.c.tenant_id == RunResult.tenant_id,
                before.c.run_id == RunResult.run_id,
                previous_matches,
            ),
        )
        .outerjoin(rules, rule_matches)
        .outerjoin(
            playbook,
            (playbook.c.tenant_id == held.c.tenant_id) & (playbook.c.id == held.c.category_id),
        )
        .where(RunResult.tenant_id == run.tenant_id, RunResult.run_id == run.id)
        .order_by(held.c.slot, Customer.code)
    )
    result = await session.stream(statement.execution_options(yield_per=batch))
    async for part in result.partitions(batch):
        yield part


def aliased_run_categories(name: str) -> Any:
    return select(RunCategory).subquery(name)


def _rules_table(tree: TreePlan) -> Any:
    """The tree's rules as a VALUES list (number, key, name, category, next action): data,
    bound as parameters, so a rule's text never reaches SQL."""
    rows = [
        (number, rule.key, rule.name or rule.key, rule.category, rule.next_action)
        for number, rule in enumerate(tree.rules.rules, start=1)
    ] or [(0, "", "", "", None)]
    return (
        values(
            column("number", Integer),
            column("key", String),
            column("name", String),
            column("category", String),
            column("next_action", String),
            name="rules",
        )
        .data(rows)
        .alias("rules")
    )


async def categories_of_runs(
    session: AsyncSession, tenant_id: uuid.UUID, run_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[int, RunCategory]]:
    """Each run's categories by slot."""
    found: dict[uuid.UUID, dict[int, RunCategory]] = {run_id: {} for run_id in run_ids}
    if not run_ids:
        return found
    for category in await session.scalars(
        select(RunCategory).where(
            RunCategory.tenant_id == tenant_id, RunCategory.run_id == any_(uuid_array(run_ids))
        )
    ):
        found[category.run_id][category.slot] = category
    return found


async def previous_apply_runs(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    tree_ids: Sequence[uuid.UUID],
    before: datetime | None,
    excluding: uuid.UUID | None = None,
) -> dict[uuid.UUID, tuple[Run, RunTree]]:
    """Per tree, the newest succeeded apply run that classified it (created before
    `before`, if given)."""
    if not tree_ids:
        return {}
    statement = (
        select(RunTree, Run)
        .join(Run, (Run.tenant_id == RunTree.tenant_id) & (Run.id == RunTree.run_id))
        .where(
            RunTree.tenant_id == tenant_id,
            RunTree.tree_id == any_(uuid_array(tree_ids)),
            Run.status == "succeeded",
            Run.mode == "apply",
        )
        .order_by(RunTree.tree_id, Run.created_at.desc(), Run.id.desc())
        .ext(distinct_on(RunTree.tree_id))
    )
    if before is not None:
        statement = statement.where(Run.created_at < before)
    if excluding is not None:
        statement = statement.where(Run.id != excluding)
    return {tree.tree_id: (run, tree) for tree, run in (await session.execute(statement)).all()}


async def playbooks(
    session: AsyncSession, tenant_id: uuid.UUID, category_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str | None]:
    """Each category's next action now (its playbook)."""
    if not category_ids:
        return {}
    rows = await session.execute(
        select(Category.id, Category.next_action).where(
            Category.tenant_id == tenant_id, Category.id == any_(uuid_array(category_ids))
        )
    )
    return {i: action for i, action in rows.all()}


# --- the current state ------------------------------------------------------------------


async def customer_count(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(Customer).where(Customer.tenant_id == tenant_id)
        )
        or 0
    )


async def trees(
    session: AsyncSession, tenant_id: uuid.UUID, tree_ids: Sequence[uuid.UUID] | None
) -> list[CategoryTree]:
    """The tenant's trees (those listed, if given), by key."""
    statement = select(CategoryTree).where(CategoryTree.tenant_id == tenant_id)
    if tree_ids is not None:
        statement = statement.where(CategoryTree.id == any_(uuid_array(tree_ids)))
    return list(await session.scalars(statement.order_by(CategoryTree.key)))


async def categories_of_trees(
    session: AsyncSession, tenant_id: uuid.UUID, tree_ids: Sequence[uuid.UUID]
) -> list[Category]:
    """The trees' categories, in display order."""
    if not tree_ids:
        return []
    return list(
        await session.scalars(
            select(Category)
            .where(Category.tenant_id == tenant_id, Category.tree_id == any_(uuid_array(tree_ids)))
            .order_by(Category.tree_id, Category.level, Category.sort_order, Category.code)
        )
    )


async def assignment_counts(
    session: AsyncSession, tenant_id: uuid.UUID, tree_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """(tree, category) → customers assigned now."""
    if not tree_ids:
        return {}
    rows = await session.execute(
        select(Assignment.tree_id, Assignment.category_id, func.count())
        .where(
            Assignment.tenant_id == tenant_id,
            Assignment.tree_id == any_(uuid_array(tree_ids)),
        )
        .group_by(Assignment.tree_id, Assignment.category_id)
    )
    return {(tree, category): count for tree, category, count in rows.all()}


async def classified_customers(
    session: AsyncSession, tenant_id: uuid.UUID, tree_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Per multi-assign tree, the customers holding at least one category of it now (a
    single-assign tree's is the sum of its category counts)."""
    if not tree_ids:
        return {}
    rows = await session.execute(
        select(Assignment.tree_id, func.count(func.distinct(Assignment.customer_id)))
        .where(
            Assignment.tenant_id == tenant_id,
            Assignment.tree_id == any_(uuid_array(tree_ids)),
        )
        .group_by(Assignment.tree_id)
    )
    return {tree: count for tree, count in rows.all()}


async def current_crosstab(
    session: AsyncSession, tenant_id: uuid.UUID, rows_tree: uuid.UUID, cols_tree: uuid.UUID
) -> dict[tuple[uuid.UUID | None, uuid.UUID | None], int]:
    """(category of the rows tree, of the cols tree) → customers now; None: not held."""
    a = select(Assignment).subquery("a")
    b = select(Assignment).subquery("b")
    rows = await session.execute(
        select(a.c.category_id, b.c.category_id, func.count())
        .select_from(Customer)
        .outerjoin(
            a,
            (a.c.tenant_id == Customer.tenant_id)
            & (a.c.customer_id == Customer.id)
            & (a.c.tree_id == rows_tree),
        )
        .outerjoin(
            b,
            (b.c.tenant_id == Customer.tenant_id)
            & (b.c.customer_id == Customer.id)
            & (b.c.tree_id == cols_tree),
        )
        .where(Customer.tenant_id == tenant_id)
        .group_by(a.c.category_id, b.c.category_id)
    )
    return {(r, c): n for r, c, n in rows.all()}


# --- states of a tree, compared -------------------------------------------------------


def run_state(run: Run, tree: TreePlan) -> Select[Any]:
    """(customer, category) of a single-assign tree in a run's results."""
    held = aliased_run_categories("held")
    return (
        select(RunResult.customer_id.label("customer_id"), held.c.category_id.label("category_id"))
        .join(
            held,
            and_(
                held.c.tenant_id == RunResult.tenant_id,
                held.c.run_id == RunResult.run_id,
                held.c.slot == RunResult.outcome[category_index(tree.position)],
            ),
        )
        .where(RunResult.tenant_id == run.tenant_id, RunResult.run_id == run.id)
    )


def current_state(tenant_id: uuid.UUID, tree_id: uuid.UUID) -> Select[Any]:
    """(customer, category) of a tree now."""
    statement = select(
        Assignment.customer_id.label("customer_id"), Assignment.category_id.label("category_id")
    ).where(Assignment.tenant_id == tenant_id, Assignment.tree_id == tree_id)
    return cast(Select[Any], statement)  # every state is (customer_id, category_id)


def state_at(tenant_id: uuid.UUID, tree_id: uuid.UUID, until: datetime) -> Select[Any]:
    """(customer, category) of a single-assign tree as it stood at `until`: each
    customer's last history row before it (a removal leaves no category)."""
    last = (
        select(AssignmentHistory.customer_id, AssignmentHistory.to_category_id)
        .where(
            AssignmentHistory.tenant_id == tenant_id,
            AssignmentHistory.tree_id == tree_id,
            AssignmentHistory.at < until,
        )
        .order_by(
            AssignmentHistory.customer_id, AssignmentHistory.at.desc(), AssignmentHistory.id.desc()
        )
        .ext(distinct_on(AssignmentHistory.customer_id))
        .subquery("last")
    )
    return select(
        last.c.customer_id.label("customer_id"), last.c.to_category_id.label("category_id")
    ).where(last.c.to_category_id.is_not(None))


async def compare_states(
    session: AsyncSession, source: Select[Any], target: Select[Any]
) -> dict[tuple[uuid.UUID | None, uuid.UUID | None], int]:
    """(category before, category after) → customers; None: not classified on that side."""
    a = source.subquery("a")
    b = target.subquery("b")
    rows = await session.execute(
        select(a.c.category_id, b.c.category_id, func.count())
        .select_from(a)
        .join(b, a.c.customer_id == b.c.customer_id, full=True)
        .group_by(a.c.category_id, b.c.category_id)
    )
    return {(x, y): n for x, y, n in rows.all()}


async def history_names(
    session: AsyncSession, tenant_id: uuid.UUID, tree_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[str | None, str | None]]:
    """Code and name of deleted categories, as the history remembers them."""
    if not ids:
        return {}
    rows = await session.execute(
        select(
            AssignmentHistory.to_category_id, AssignmentHistory.to_code, AssignmentHistory.to_name
        )
        .where(
            AssignmentHistory.tenant_id == tenant_id,
            AssignmentHistory.tree_id == tree_id,
            AssignmentHistory.to_category_id == any_(uuid_array(ids)),
        )
        .ext(distinct_on(AssignmentHistory.to_category_id))
    )
    return {i: (code, name) for i, code, name in rows.all() if i is not None}


# --- exports rendered by jobs ---------------------------------------------------------


async def export_with_job(
    session: AsyncSession, tenant_id: uuid.UUID, export_id: uuid.UUID
) -> tuple[ReportExport, Job] | None:
    row = (
        await session.execute(
            select(ReportExport, Job)
            .join(Job, Job.id == ReportExport.job_id)
            .where(ReportExport.tenant_id == tenant_id, ReportExport.id == export_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def store_export_file(
    session: AsyncSession, export: ReportExport, path: str, chunk: int
) -> int:
    """Replace the export's stored file with the file at `path`, `chunk` bytes a row;
    returns its size."""
    await session.execute(
        delete(ReportExportChunk).where(
            ReportExportChunk.tenant_id == export.tenant_id,
            ReportExportChunk.export_id == export.id,
        )
    )
    size = 0
    seq = 0
    with open(path, "rb") as source:  # noqa: ASYNC230 - a local temporary file
        while data := source.read(chunk):
            await session.execute(
                insert(ReportExportChunk).values(
                    tenant_id=export.tenant_id, export_id=export.id, seq=seq, data=data
                )
            )
            size += len(data)
            seq += 1
    return size


async def export_chunk(
    session: AsyncSession, tenant_id: uuid.UUID, export_id: uuid.UUID, seq: int
) -> bytes | None:
    return await session.scalar(
        select(ReportExportChunk.data).where(
            ReportExportChunk.tenant_id == tenant_id,
            ReportExportChunk.export_id == export_id,
            ReportExportChunk.seq == seq,
        )
    )


async def delete_expired_exports(
    session: AsyncSession, tenant_id: uuid.UUID | None, created_before: datetime
) -> int:
    """Forget the exports (and their files) created before that time — the tenant's, or
    every tenant's when None."""
    expired = delete(ReportExport).where(ReportExport.created_at < created_before)
    if tenant_id is not None:
        expired = expired.where(ReportExport.tenant_id == tenant_id)
    return await rows_written(session, expired)
