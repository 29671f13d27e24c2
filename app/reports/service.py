"""A run's report, from its stored results: distribution per tree against the tree's
previous apply run, a cross-tab of two trees, transitions, borderline and locked-conflict
customers. Every figure is an aggregate computed in SQL (app/reports/repository.py); the
arithmetic on the few rows that come back is in app/reports/figures.py."""

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.errors import InvalidInput
from app.core.i18n import Text
from app.models import Run, RunCategory
from app.models.runs import BORDERLINE, LOCKED_CONFLICT
from app.reports import figures, repository
from app.reports.schemas import (
    Crosstab,
    CrosstabAxis,
    FlaggedItem,
    FlaggedList,
    RunReport,
    StateRef,
    Transition,
    TreeDistribution,
    TreeTransitions,
)
from app.rules.language.tree import Rule
from app.runs.layout import category_index, flags_index, rule_index
from app.runs.plan import RunPlan, TreePlan, load_plan
from app.runs.results import RunNotFinished
from app.runs.schemas import DriftOut, RuleRef
from app.runs.service import get_run, run_views

LIST_LIMIT = 100


@dataclass(frozen=True)
class RunReportData:
    """A run's report and what renderers need besides: the plan (trees, rules) and tree
    names by position."""

    report: RunReport
    plan: RunPlan
    tree_names: dict[int, str]


async def run_report(
    session: AsyncSession,
    principal: Principal,
    run_id: uuid.UUID,
    *,
    rows: uuid.UUID | None = None,
    cols: uuid.UUID | None = None,
    list_limit: int = LIST_LIMIT,
) -> RunReportData:
    """The report of a succeeded run (409 before). The cross-tab crosses `rows` × `cols`
    (trees of the run), by default the value and activity trees when the run has both,
    else its first two single-assign trees."""
    run = await get_run(session, principal, run_id)
    if run.status != "succeeded":
        raise RunNotFinished
    plan = await load_plan(session, run)
    (view,) = await run_views(session, [run])
    keys = {t.row.position: t.key for t in view.trees}
    names = {t.row.position: t.name or t.key or str(t.row.tree_id) for t in view.trees}
    pair = _pair(plan, keys, rows, cols)
    positions = [t.position for t in plan.trees]
    groups = await repository.outcome_groups(session, run, positions, pair)
    counted = _slot_counts(plan, groups)
    customers = {p: sum(groups.transitions[p].values()) for p in positions}
    total = max(customers.values(), default=0)
    distribution = await _distribution(session, run, plan, keys, names, counted, customers)
    transitions = [
        _transitions(run, tree, keys, names, groups.transitions[tree.position])
        for tree in plan.trees
    ]
    crosstab = None
    if pair is not None:
        crosstab = _crosstab(plan, keys, names, pair, groups.pair, total)
    report = RunReport(
        run_id=run.id,
        mode=run.mode,
        as_of=run.as_of,
        created_at=run.created_at,
        finished_at=run.finished_at,
        customers=total,
        distribution=distribution,
        crosstab=crosstab,
        transitions=transitions,
        borderline=await _flagged(session, run, plan, names, BORDERLINE, "borderline", list_limit),
        locked_conflicts=await _flagged(
            session, run, plan, names, LOCKED_CONFLICT, "locked_conflicts", list_limit
        ),
        drift=[DriftOut.model_validate(d) for d in run.drift or []],
    )
    return RunReportData(report, plan, names)


def _pair(
    plan: RunPlan, keys: dict[int, str | None], rows: uuid.UUID | None, cols: uuid.UUID | None
) -> tuple[int, int] | None:
    if rows is not None or cols is not None:
        chosen = []
        for name, tree_id in (("rows", rows), ("cols", cols)):
            tree = plan.tree(tree_id) if tree_id is not None else None
            if tree is None:
                raise InvalidInput(
                    Text(
                        "交叉分析需要该运行的两个分类维度", "A cross-tab needs two trees of the run"
                    ),
                    errors=[
                        {
                            "loc": ["query", name],
                            "msg": "not a tree of the run",
                            "type": "unknown_tree",
                        }
                    ],
                )
            chosen.append(tree.position)
        if chosen[0] == chosen[1]:
            raise InvalidInput(
                Text("交叉分析需要两个不同的分类维度", "A cross-tab needs two different trees"),
                errors=[
                    {"loc": ["query", "cols"], "msg": "same tree as rows", "type": "same_tree"}
                ],
            )
        return chosen[0], chosen[1]
    by_key = {key: position for position, key in keys.items() if key is not None}
    if "value" in by_key and "activity" in by_key:
        return by_key["value"], by_key["activity"]
    single = [t.position for t in plan.trees if not t.multi]
    return (single[0], single[1]) if len(single) >= 2 else None


def _slot_counts(plan: RunPlan, groups: repository.OutcomeGroups) -> dict[int, dict[int, int]]:
    """Per tree position, customers per category slot."""
    counted: dict[int, dict[int, int]] = {}
    for tree in plan.trees:
        per_slot: dict[int, int] = defaultdict(int)
        for (entry, _previous), count in groups.transitions[tree.position].items():
            for slot in figures.expand(entry, tree.multi, tree.slots_in):
                per_slot[slot] += count
        counted[tree.position] = per_slot
    return counted


async def _distribution(
    session: AsyncSession,
    run: Run,
    plan: RunPlan,
    keys: dict[int, str | None],
    names: dict[int, str],
    counted: dict[int, dict[int, int]],
    customers: dict[int, int],
) -> list[TreeDistribution]:
    previous = await repository.previous_apply_runs(
        session, run.tenant_id, [t.tree_id for t in plan.trees], run.created_at, run.id
    )
    earlier = await repository.categories_of_runs(
        session, run.tenant_id, [r.id for r, _ in previous.values()]
    )
    out = []
    for tree in plan.trees:
        before: dict[uuid.UUID, int] | None = None
        before_customers = 0
        found = previous.get(tree.tree_id)
        if found is not None:
            before, before_customers = _counts_by_category(found[0], found[1].position, earlier)
        by_slot = counted[tree.position]
        shown = sorted(
            slot
            for slot, category in tree.categories.items()
            if by_slot.get(slot)
            or slot in tree.target_slots()
            or (before is not None and before.get(category.category_id))
        )
        labels = [
            (tree.categories[s].category_id, figures.of_run(tree.categories[s])) for s in shown
        ]
        counts = {tree.categories[s].category_id: by_slot.get(s, 0) for s in shown}
        out.append(
            TreeDistribution(
                tree_id=tree.tree_id,
                key=keys.get(tree.position),
                name=names.get(tree.position),
                multi_assign=tree.multi,
                customers=customers[tree.position],
                previous_run_id=found[0].id if found else None,
                previous_as_of=found[0].as_of if found else None,
                categories=figures.shares(
                    labels, counts, customers[tree.position], before, before_customers
                ),
            )
        )
    return out


def _counts_by_category(
    run: Run, position: int, categories: dict[uuid.UUID, dict[int, RunCategory]]
) -> tuple[dict[uuid.UUID, int], int]:
    """A run's stored counts of the tree at `position`, by category id, and its customers
    (from `runs.counts`, computed in SQL when the run finished)."""
    slots = categories.get(run.id, {})
    for tree in (run.counts or {}).get("trees", []):
        if tree.get("position") == position:
            by_category: dict[uuid.UUID, int] = {}
            for slot, count in tree["categories"].items():
                category = slots.get(int(slot))
                if category is not None:
                    by_category[category.category_id] = count
            return by_category, int((run.counts or {}).get("customers", 0))
    return {}, 0


def _transitions(
    run: Run,
    tree: TreePlan,
    keys: dict[int, str | None],
    names: dict[int, str],
    pairs: dict[tuple[int, int], int],
) -> TreeTransitions:
    items = []
    for (entry, previous), count in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0])):
        to = [
            figures.of_run(tree.categories[s])
            for s in figures.expand(entry, tree.multi, tree.slots_in)
        ]
        if tree.multi:
            before = [figures.of_run(tree.categories[s]) for s in tree.slots_in(previous)]
        else:
            before = [figures.of_run(tree.categories[previous])] if previous else []
        items.append(Transition(from_categories=before, to_categories=to, count=count))
    return TreeTransitions(
        tree_id=tree.tree_id,
        key=keys.get(tree.position),
        name=names.get(tree.position),
        source=StateRef(kind="before_run", run_id=run.id),
        target=StateRef(kind="run", run_id=run.id),
        customers=sum(pairs.values()),
        # What the run moved (stored with the run): a locked conflict shows as a move the
        # rules asked for, but the run left it where it was.
        changed=next(
            (
                int(t.get("changed", 0))
                for t in (run.counts or {}).get("trees", [])
                if t.get("position") == tree.position
            ),
            0,
        ),
        items=items,
    )


def _crosstab(
    plan: RunPlan,
    keys: dict[int, str | None],
    names: dict[int, str],
    pair: tuple[int, int],
    counts: dict[tuple[int, int], int],
    total: int,
) -> Crosstab:
    first, second = (next(t for t in plan.trees if t.position == p) for p in pair)
    by_slots: dict[tuple[int, int], int] = defaultdict(int)
    for (a, b), count in counts.items():
        for slot_a in figures.expand(a, first.multi, first.slots_in):
            for slot_b in figures.expand(b, second.multi, second.slots_in):
                by_slots[(slot_a, slot_b)] += count
    axes = []
    slot_lists = []
    for tree in (first, second):
        used = {s for key in by_slots for s in key}
        slots = sorted(s for s in tree.categories if s in used or s in tree.target_slots())
        slot_lists.append(slots)
        axes.append(
            CrosstabAxis(
                tree_id=tree.tree_id,
                key=keys.get(tree.position),
                name=names.get(tree.position),
                categories=[figures.of_run(tree.categories[s]) for s in slots],
            )
        )
    return figures.crosstab(axes[0], axes[1], slot_lists[0], slot_lists[1], by_slots, total)


async def _flagged(
    session: AsyncSession,
    run: Run,
    plan: RunPlan,
    names: dict[int, str],
    flag: int,
    counter: str,
    limit: int,
) -> FlaggedList:
    total = sum(int(t.get(counter, 0)) for t in (run.counts or {}).get("trees", []))
    if not total or limit <= 0:
        return FlaggedList(total=total, items=[])
    rows = await repository.flagged_results(
        session, run, [t.position for t in plan.trees], flag, limit
    )
    playbooks = await repository.playbooks(
        session, run.tenant_id, [c.category_id for t in plan.trees for c in t.categories.values()]
    )
    items = []
    for customer_id, code, name, outcome in rows:
        for tree in plan.trees:
            if not outcome[flags_index(tree.position) - 1] & flag:
                continue
            entry = outcome[category_index(tree.position) - 1]
            slots = figures.expand(entry, tree.multi, tree.slots_in)
            number = outcome[rule_index(tree.position) - 1]
            rule = _first(tree.matched_rules(number)) if tree.multi else tree.rule(number)
            items.append(
                FlaggedItem(
                    customer_id=customer_id,
                    customer_code=code,
                    customer_name=name,
                    tree_id=tree.tree_id,
                    tree_name=names.get(tree.position),
                    category=figures.of_run(tree.categories[slots[0]])
                    if slots
                    else figures.unclassified(),
                    rule=RuleRef(key=rule.key, name=rule.name) if rule is not None else None,
                    next_action=_next_action(tree, rule, slots, playbooks),
                )
            )
    return FlaggedList(total=total, items=items[:limit])


def _first(rules: list[Rule]) -> Rule | None:
    return rules[0] if rules else None


def _next_action(
    tree: TreePlan, rule: Rule | None, slots: list[int], playbooks: dict[uuid.UUID, str | None]
) -> str | None:
    """The matched rule's next action, else the category's playbook (差异化运营)."""
    if rule is not None and rule.next_action:
        return rule.next_action
    for slot in slots:
        action = playbooks.get(tree.categories[slot].category_id)
        if action:
            return action
    return None
