"""A run as its jobs and readers need it: the trees with their rules read, the categories
numbered by slot, the snapshot's layout, the scope."""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property

from cachetools import LRUCache
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import FieldCatalog
from app.core.errors import Conflict
from app.core.i18n import Text
from app.facts.snapshot_layout import SnapshotLayout
from app.models import CategoryTree, Run, RunCategory, RunCutPoint, RunTree
from app.models.rules import Ruleset as StoredRuleset
from app.models.rules import RulesetVersion
from app.rules.language.errors import RulesetInvalid
from app.rules.language.evaluate import Evaluator
from app.rules.language.quantiles import CutPoints, ScoreKey
from app.rules.language.tree import Condition, Rule, Ruleset, iter_leaves
from app.rules.language.validate import check_condition, check_ruleset


class RunCannotProceed(Conflict):
    """Something the run recorded at its start is gone (a ruleset version, a category)."""


@dataclass(frozen=True)
class CategoryView:
    """A category named in a result: `path` holds the codes from the root down."""

    id: uuid.UUID
    code: str
    name: str
    path: list[str]

    @classmethod
    def of_run(cls, category: RunCategory) -> "CategoryView":
        """A category as the run recorded it when it started."""
        return cls(category.category_id, category.code, category.name, list(category.path))


@dataclass(frozen=True)
class TreePlan:
    """One tree of a run: its place in the outcome, its rules and its categories."""

    position: int
    tree_id: uuid.UUID
    ruleset_id: uuid.UUID
    version_number: int
    rules: Ruleset
    categories: dict[int, RunCategory]  # by slot
    applied: bool
    # The scores' cut points the run stored for this tree (none before it has started).
    cut_points: CutPoints = field(default_factory=dict)

    @cached_property
    def views(self) -> dict[int, CategoryView]:
        """Each category as results name it, by slot (made once per plan, not per item)."""
        return {slot: CategoryView.of_run(c) for slot, c in self.categories.items()}

    @cached_property
    def slot_of(self) -> dict[str, int]:
        """Category code → slot."""
        return {c.code: slot for slot, c in self.categories.items()}

    def target_slots(self) -> list[int]:
        """The slots of every category the rules can assign (rules' and the default)."""
        codes = {rule.category for rule in self.rules.rules} | {self.rules.default_category}
        return sorted(self.slot_of[code] for code in codes)

    def rule(self, number: int) -> Rule | None:
        """The rule stored as `number` (its index + 1; 0 is the default category)."""
        return self.rules.rules[number - 1] if number > 0 else None

    @property
    def multi(self) -> bool:
        """A multi-assign tree (`collect`): its outcome holds sets, as bit masks."""
        return self.rules.hit_policy == "collect"

    @cached_property
    def first_slot(self) -> int:
        """The tree's categories have the slots first_slot, first_slot + 1, …"""
        return min(self.categories)

    def bit(self, slot: int) -> int:
        """A category's bit in a multi-assign tree's masks."""
        return 1 << (slot - self.first_slot)

    def slots_in(self, mask: int) -> list[int]:
        """The slots of the categories whose bits are set in `mask`, in slot order."""
        return [slot for slot in sorted(self.categories) if mask & self.bit(slot)]

    def matched_rules(self, mask: int) -> list[Rule]:
        """The rules whose bits are set in a rule mask (bit i: rule i)."""
        return [rule for i, rule in enumerate(self.rules.rules) if mask & (1 << i)]

    @cached_property
    def fields(self) -> list[str]:
        """The fields this tree's rules read, in order of first use."""
        keys = [leaf.field for rule in self.rules.rules for leaf in iter_leaves(rule.when)]
        return list(dict.fromkeys(keys))


@dataclass(frozen=True)
class RunPlan:
    run: Run
    layout: SnapshotLayout
    catalog: FieldCatalog
    trees: tuple[TreePlan, ...]
    scope: Condition | None

    # Made on first use and shared by every copy of a settled plan (see load_plan).
    made_evaluators: dict[int, Evaluator] = field(default_factory=dict, compare=False, repr=False)

    def tree(self, tree_id: uuid.UUID) -> TreePlan | None:
        return next((t for t in self.trees if t.tree_id == tree_id), None)

    def evaluator(self, position: int) -> Evaluator:
        """The Python evaluator of the tree at `position` (for rendering rationales); it
        works each pattern of leaf results out once, so keeping it warms later pages."""
        made = self.made_evaluators.get(position)
        if made is None:
            tree = next(t for t in self.trees if t.position == position)
            made = self.made_evaluators[position] = Evaluator(
                tree.rules, self.catalog, cut_points=tree.cut_points
            )
        return made


# The plans of succeeded runs, by (tenant, run): what a run recorded at its start never
# changes once it has succeeded (its versions, categories, layout, applied trees), so
# readers of results and classifications need not read and parse it per request.
# Bounded: a plan is a few rulesets and categories; the newest runs are the ones read.
SETTLED_PLANS = 256
_settled: LRUCache[tuple[uuid.UUID, uuid.UUID], RunPlan] = LRUCache(maxsize=SETTLED_PLANS)


def forget_settled_plans() -> None:
    """Empty this process' cache of settled plans."""
    _settled.clear()


async def load_plan(session: AsyncSession, run: Run) -> RunPlan:
    """Read everything the run recorded at its start (a succeeded run's from this
    process' cache, with `run` as given). Raises RunCannotProceed when a recorded
    ruleset version is gone (its tree was deleted)."""
    key = (run.tenant_id, run.id)
    if run.status != "succeeded":
        return await _read_plan(session, run)
    cached = _settled.get(key)
    if cached is None:
        cached = _settled[key] = await _read_plan(session, run)
    return replace(cached, run=run)


async def _read_plan(session: AsyncSession, run: Run) -> RunPlan:
    layout = SnapshotLayout.from_json(run.fields)
    catalog = layout.catalog()
    trees_rows = (
        await session.scalars(
            select(RunTree)
            .where(RunTree.tenant_id == run.tenant_id, RunTree.run_id == run.id)
            .order_by(RunTree.position)
        )
    ).all()
    versions = {
        v.id: (v, multi)
        for v, multi in await session.execute(
            select(RulesetVersion, CategoryTree.multi_assign)
            .join(
                StoredRuleset,
                (StoredRuleset.tenant_id == RulesetVersion.tenant_id)
                & (StoredRuleset.id == RulesetVersion.ruleset_id),
            )
            .join(
                CategoryTree,
                (CategoryTree.tenant_id == StoredRuleset.tenant_id)
                & (CategoryTree.id == StoredRuleset.tree_id),
            )
            .where(
                RulesetVersion.tenant_id == run.tenant_id,
                RulesetVersion.id.in_([t.version_id for t in trees_rows]),
            )
        )
    }
    categories = (
        await session.scalars(
            select(RunCategory)
            .where(RunCategory.tenant_id == run.tenant_id, RunCategory.run_id == run.id)
            .order_by(RunCategory.slot)
        )
    ).all()
    cut_points = await _cut_points(session, run)
    trees = []
    for row in trees_rows:
        found = versions.get(row.version_id)
        if found is None:
            raise RunCannotProceed(
                Text(
                    "运行所用的规则集版本已不存在(分类维度已删除)",
                    "A ruleset version the run uses no longer exists (its tree was deleted)",
                )
            )
        version, multi = found
        own = {c.slot: c for c in categories if c.position == row.position}
        try:
            rules = check_ruleset(version.body, catalog, {c.code for c in own.values()}, multi)
        except RulesetInvalid as invalid:
            raise RunCannotProceed(
                Text(
                    f"规则集版本 v{version.number} 已不适用于当时的分类:{invalid}",
                    f"Ruleset version v{version.number} no longer fits the categories: {invalid}",
                )
            ) from invalid
        trees.append(
            TreePlan(
                row.position,
                row.tree_id,
                row.ruleset_id,
                row.version_number,
                rules,
                own,
                row.applied_at is not None,
                cut_points.get(row.tree_id, {}),
            )
        )
    scope = None
    if run.scope.get("type") == "filter":
        scope = check_condition(run.scope["when"], catalog)
    return RunPlan(run, layout, catalog, tuple(trees), scope)


async def _cut_points(
    session: AsyncSession, run: Run
) -> dict[uuid.UUID, dict[ScoreKey, tuple[Decimal, ...]]]:
    """The run's stored cut points (app/runs/cut_points.py) by tree."""
    rows = await session.execute(
        select(RunCutPoint.tree_id, RunCutPoint.field, RunCutPoint.buckets, RunCutPoint.cuts).where(
            RunCutPoint.tenant_id == run.tenant_id, RunCutPoint.run_id == run.id
        )
    )
    found: dict[uuid.UUID, dict[ScoreKey, tuple[Decimal, ...]]] = defaultdict(dict)
    for tree_id, key, buckets, cuts in rows:
        found[tree_id][ScoreKey(key, buckets)] = tuple(Decimal(c) for c in cuts)
    return found
