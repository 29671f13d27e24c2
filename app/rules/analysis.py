"""Comparing two ruleset versions (diff) and finding likely mistakes in one (lint).

Lint reasons about numeric ranges: a rule whose condition is a conjunction of
comparisons is, per field, an interval; from those it finds rules an earlier rule
always catches first (shadowed), conditions no value can satisfy, and overlapping or
gapped ranges between rules on the same single field. Anything more complex than a
conjunction of comparisons is left alone rather than guessed at.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.catalog import FieldCatalog
from app.core.i18n import Text
from app.rules.language.parse_json import condition_to_json
from app.rules.language.tree import All, Leaf, Rule, Ruleset, iter_leaves
from app.rules.language.values import operand
from app.rules.schemas import FindingType, LintFinding, Severity

INF = Decimal("Infinity")


@dataclass(frozen=True)
class Interval:
    """Numbers between lo and hi; `*_open` excludes the bound itself."""

    lo: Decimal = -INF
    hi: Decimal = INF
    lo_open: bool = False
    hi_open: bool = False

    def meet(self, other: "Interval") -> "Interval":
        lo, lo_open = max((self.lo, self.lo_open), (other.lo, other.lo_open))
        hi, hi_open = min((self.hi, not self.hi_open), (other.hi, not other.hi_open))
        return Interval(lo, hi, lo_open, not hi_open)

    @property
    def empty(self) -> bool:
        return self.lo > self.hi or (self.lo == self.hi and (self.lo_open or self.hi_open))

    def contains(self, other: "Interval") -> bool:
        lower_ok = self.lo < other.lo or (
            self.lo == other.lo and (not self.lo_open or other.lo_open)
        )
        upper_ok = self.hi > other.hi or (
            self.hi == other.hi and (not self.hi_open or other.hi_open)
        )
        return lower_ok and upper_ok

    def describe(self) -> str:
        left = "(" if self.lo_open or self.lo == -INF else "["
        right = ")" if self.hi_open or self.hi == INF else "]"
        lo = "-∞" if self.lo == -INF else f"{self.lo:f}"
        hi = "+∞" if self.hi == INF else f"{self.hi:f}"
        return f"{left}{lo}, {hi}{right}"


def _leaf_interval(leaf: Leaf, catalog: FieldCatalog) -> Interval | None:
    field = catalog.get(leaf.field)
    # A score's thresholds are groups, not the field's values: not compared with them.
    if field is None or field.type not in ("number", "integer") or leaf.score is not None:
        return None
    value = operand(field, leaf.op, leaf.value)
    match leaf.op, value:
        case "gt", int() | Decimal():
            return Interval(lo=Decimal(value), lo_open=True)
        case "gte", int() | Decimal():
            return Interval(lo=Decimal(value))
        case "lt", int() | Decimal():
            return Interval(hi=Decimal(value), hi_open=True)
        case "lte", int() | Decimal():
            return Interval(hi=Decimal(value))
        case "eq", int() | Decimal():
            return Interval(Decimal(value), Decimal(value))
        case "between", (int() | Decimal() as lo, int() | Decimal() as hi):
            return Interval(Decimal(lo), Decimal(hi))
    return None


def rule_intervals(rule: Rule, catalog: FieldCatalog) -> dict[str, Interval] | None:
    """Per-field intervals when the rule is a conjunction of numeric comparisons."""
    if isinstance(rule.when, Leaf):
        leaves = [rule.when]
    elif isinstance(rule.when, All):
        leaves = [item for item in rule.when.items if isinstance(item, Leaf)]
        if len(leaves) != len(rule.when.items):
            return None
    else:
        return None
    intervals: dict[str, Interval] = {}
    for leaf in leaves:
        interval = _leaf_interval(leaf, catalog)
        if interval is None:
            return None
        intervals[leaf.field] = intervals.get(leaf.field, Interval()).meet(interval)
    return intervals


def lint(ruleset: Ruleset, catalog: FieldCatalog, tree_codes: set[str]) -> list[LintFinding]:
    """Findings, each with a type, a JSON path into the body and a localised message."""
    findings: list[LintFinding] = []
    shapes = [rule_intervals(rule, catalog) for rule in ruleset.rules]

    def add(kind: FindingType, loc: list[str | int], text: Text, **detail: Any) -> None:
        severity: Severity = "info" if kind == "overlap" else "warning"
        findings.append(
            LintFinding(type=kind, severity=severity, loc=loc, message=text.get(), detail=detail)
        )

    for index, (rule, shape) in enumerate(zip(ruleset.rules, shapes, strict=True)):
        if shape is not None and any(i.empty for i in shape.values()):
            add(
                "never_true",
                ["rules", index, "when"],
                Text(
                    f"规则「{rule.name or rule.key}」的条件永远不成立",
                    f"Rule {rule.key!r} can never match",
                ),
                rule=rule.key,
            )
        if ruleset.hit_policy != "first" or shape is None:
            continue
        for earlier, earlier_shape in enumerate(shapes[:index]):
            if earlier_shape is None or not set(earlier_shape) <= set(shape):
                continue
            if all(earlier_shape[f].contains(shape[f]) for f in earlier_shape):
                first = ruleset.rules[earlier]
                add(
                    "shadowed_rule",
                    ["rules", index],
                    Text(
                        f"规则「{rule.name or rule.key}」被前面的规则「{first.name or first.key}」"
                        "完全覆盖,永远不会命中",
                        f"Rule {rule.key!r} is shadowed by earlier rule {first.key!r} "
                        "and never matches",
                    ),
                    rule=rule.key,
                    shadowed_by=first.key,
                )
                break
    _ranges(ruleset, shapes, add)
    reachable = {rule.category for rule in ruleset.rules} | {ruleset.default_category}
    for code in sorted(tree_codes - reachable - {"DEFAULT"}):
        add(
            "unreachable_category",
            ["rules"],
            Text(f"分类 {code} 没有任何规则可以到达", f"No rule leads to category {code}"),
            category=code,
        )
    return findings


def _ranges(
    ruleset: Ruleset, shapes: list[dict[str, Interval] | None], add: Callable[..., None]
) -> None:
    # Rules that constrain exactly one and the same field: overlaps and gaps between them.
    by_field: dict[str, list[tuple[int, Interval]]] = {}
    for index, shape in enumerate(shapes):
        if shape is not None and len(shape) == 1:
            [(field, interval)] = shape.items()
            if not interval.empty:
                by_field.setdefault(field, []).append((index, interval))
    for field, ranges in by_field.items():
        if len(ranges) < 2:
            continue
        ordered = sorted(ranges, key=lambda r: (r[1].lo, r[1].lo_open))
        for (i, a), (j, b) in itertools.pairwise(ordered):
            names = (ruleset.rules[i].key, ruleset.rules[j].key)
            if not a.meet(b).empty:
                add(
                    "overlap",
                    ["rules", j, "when"],
                    Text(
                        f"规则 {names[0]} 与 {names[1]} 在 {field} 上的区间重叠 "
                        f"{a.meet(b).describe()}(先匹配者优先)",
                        f"Rules {names[0]} and {names[1]} overlap on {field} "
                        f"at {a.meet(b).describe()} (the first one wins)",
                    ),
                    field=field,
                    rules=list(names),
                )
            elif a.hi < b.lo or (a.hi == b.lo and a.hi_open and b.lo_open):
                gap = Interval(a.hi, b.lo, not a.hi_open, not b.lo_open)
                add(
                    "gap",
                    ["rules", j, "when"],
                    Text(
                        f"规则 {names[0]} 与 {names[1]} 之间在 {field} 上有空档 {gap.describe()},"
                        f"落入默认分类 {ruleset.default_category}",
                        f"Between rules {names[0]} and {names[1]}, {field} in {gap.describe()} "
                        f"falls to the default {ruleset.default_category}",
                    ),
                    field=field,
                    rules=list(names),
                )


@dataclass(frozen=True)
class ThresholdChange:
    """A leaf that kept its field and operator but not its value (JSON values)."""

    field: str
    op: str
    before: Any
    after: Any


@dataclass(frozen=True)
class RuleChange:
    """A rule kept by key whose JSON changed: which members, and the thresholds."""

    key: str
    fields: list[str]
    thresholds: list[ThresholdChange]
    before: dict[str, Any]  # the rule's Rules JSON, without its key
    after: dict[str, Any]


@dataclass(frozen=True)
class SettingChange:
    setting: str
    before: str
    after: str


@dataclass(frozen=True)
class RulesetDiff:
    """From one version to another: rules added and removed (their Rules JSON, key
    first), rules changed (by key), and changed settings."""

    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    changed: list[RuleChange]
    settings: list[SettingChange]


def diff_json(changes: RulesetDiff) -> dict[str, list[dict[str, Any]]]:
    """A diff's members as the API shows them (`from`/`to` for every change)."""
    return {
        "added": changes.added,
        "removed": changes.removed,
        "changed": [
            {
                "key": change.key,
                "fields": change.fields,
                "thresholds": [
                    {"field": t.field, "op": t.op, "from": t.before, "to": t.after}
                    for t in change.thresholds
                ],
                "before": change.before,
                "after": change.after,
            }
            for change in changes.changed
        ],
        "settings": [
            {"setting": s.setting, "from": s.before, "to": s.after} for s in changes.settings
        ],
    }


def _rule_json(rule: Rule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "category": rule.category,
        "when": condition_to_json(rule.when),
        "tags": list(rule.tags),
        "next_action": rule.next_action,
    }


def diff(new: Ruleset, old: Ruleset) -> RulesetDiff:
    """Rules added, removed and changed (by key), with threshold changes spelled out."""
    old_rules = {rule.key: rule for rule in old.rules}
    new_rules = {rule.key: rule for rule in new.rules}
    changed = []
    for key in sorted(new_rules.keys() & old_rules.keys()):
        before, after = _rule_json(old_rules[key]), _rule_json(new_rules[key])
        fields = [name for name in after if after[name] != before[name]]
        if fields:
            thresholds = _threshold_changes(old_rules[key], new_rules[key])
            changed.append(RuleChange(key, fields, thresholds, before, after))
    settings = [
        SettingChange(name, str(getattr(old, name)), str(getattr(new, name)))
        for name in ("hit_policy", "default_category", "borderline_margin")
        if getattr(old, name) != getattr(new, name)
    ]
    return RulesetDiff(
        added=[{"key": k, **_rule_json(new_rules[k])} for k in new_rules if k not in old_rules],
        removed=[{"key": k, **_rule_json(old_rules[k])} for k in old_rules if k not in new_rules],
        changed=changed,
        settings=settings,
    )


def _threshold_changes(old: Rule, new: Rule) -> list[ThresholdChange]:
    before = list(iter_leaves(old.when))
    after = list(iter_leaves(new.when))
    if len(before) != len(after):
        return []
    return [
        ThresholdChange(
            a.field, a.op, condition_to_json(a).get("value"), condition_to_json(b).get("value")
        )
        for a, b in zip(before, after, strict=True)
        if (a.field, a.op) == (b.field, b.op) and a.value != b.value
    ]
