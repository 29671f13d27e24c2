"""The JSON form of rules (design: Rules) to the tree and back.

Reading checks shape only (objects, keys, nesting and size limits) and collects every
problem with its JSON path; types against the field catalog are `validate.py`'s job.
Any `when` may be a text expression instead of a JSON condition.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from app.catalog import BUILTIN_CATALOG, FieldCatalog
from app.core.i18n import Text
from app.rules.language.errors import RuleError, RulesetInvalid, RuleSyntaxError
from app.rules.language.limits import MAX_CONDITIONS, MAX_DEPTH
from app.rules.language.parse_text import parse_text
from app.rules.language.print_text import print_text
from app.rules.language.quantiles import SCORE_FUNCTIONS
from app.rules.language.tree import (
    DEFAULT_BORDERLINE_MARGIN,
    All,
    Any,
    Condition,
    Leaf,
    Loc,
    Not,
    Origin,
    Rule,
    Ruleset,
    Score,
    Value,
    iter_leaves,
)

WhenStyle = Literal["source", "json", "text"]

_RULESET_KEYS = frozenset({"hit_policy", "default_category", "borderline_margin", "rules"})
_RULE_KEYS = frozenset({"key", "name", "category", "when", "tags", "next_action"})
_LEAF_KEYS = frozenset({"field", "op", "value", "score", "k"})


class _Reader:
    """Walks submitted JSON, building tree nodes and collecting errors on the way."""

    def __init__(self, catalog: FieldCatalog) -> None:
        self.catalog = catalog
        self.errors: list[RuleError] = []
        self.leaf_count = 0
        self.too_many_reported = False

    def error(self, loc: Loc, type_: str, zh: str, en: str) -> None:
        self.errors.append(RuleError(loc, type_, Text(zh, en)))

    def unknown_keys(self, data: Mapping[str, object], allowed: frozenset[str], loc: Loc) -> None:
        for key in data:
            if key not in allowed:
                self.error((*loc, key), "extra_forbidden", "不支持的字段", "unknown key")

    def count_leaves(self, added: int, loc: Loc) -> bool:
        """Count leaves; False (and one error) once the ruleset has too many."""
        self.leaf_count += added
        if self.leaf_count <= MAX_CONDITIONS:
            return True
        if not self.too_many_reported:
            self.too_many_reported = True
            self.error(
                loc,
                "too_many_conditions",
                f"条件总数超过 {MAX_CONDITIONS} 个",
                f"more than {MAX_CONDITIONS} conditions in total",
            )
        return False

    def when(self, data: object, loc: Loc, level: int = 1) -> Condition | None:
        """A condition that may also be a text expression."""
        if not isinstance(data, str):
            return self.condition(data, loc, level)
        try:
            node = parse_text(data, self.catalog, loc=loc, max_depth=MAX_DEPTH - level + 1)
        except RuleSyntaxError as exc:
            self.errors.append(exc.to_error(loc))
            return None
        leaves = sum(1 for _ in iter_leaves(node))
        return node if self.count_leaves(leaves, loc) else None

    def condition(self, data: object, loc: Loc, level: int) -> Condition | None:
        if level > MAX_DEPTH:
            self.error(
                loc, "too_deep", f"条件嵌套超过 {MAX_DEPTH} 层", f"nested deeper than {MAX_DEPTH}"
            )
            return None
        if not isinstance(data, Mapping):
            self.error(loc, "condition_type", "应为条件对象", "must be a condition object")
            return None
        groups = [key for key in ("all", "any", "not") if key in data]
        if len(groups) == 1 and len(data) == 1:
            key = groups[0]
            if key == "not":
                item = self.condition(data["not"], (*loc, "not"), level + 1)
                return None if item is None else Not(item, Origin(loc))
            return self.group(key, data[key], (*loc, key), level)
        if groups:
            self.error(
                loc,
                "condition_shape",
                "条件只能有 all、any、not 之一,或为 field/op/value",
                "a condition has exactly one of all, any, not, or field/op/value",
            )
            return None
        return self.leaf(data, loc)

    def group(self, key: str, data: object, loc: Loc, level: int) -> Condition | None:
        if not isinstance(data, list):
            self.error(loc, "list_type", "应为条件列表", "must be a list of conditions")
            return None
        items = [self.condition(item, (*loc, i), level + 1) for i, item in enumerate(data)]
        if any(item is None for item in items):
            return None
        kept = tuple(item for item in items if item is not None)
        origin = Origin(loc[:-1])
        return All(kept, origin) if key == "all" else Any(kept, origin)

    def leaf(self, data: Mapping[str, object], loc: Loc) -> Leaf | None:
        self.unknown_keys(data, _LEAF_KEYS, loc)
        ok = True
        for key in ("field", "op"):
            if key not in data:
                self.error((*loc, key), "missing", "缺少此字段", "field required")
                ok = False
            elif not isinstance(data[key], str):
                self.error((*loc, key), "string_type", "应为文本", "must be a string")
                ok = False
        value = self.value(data.get("value"), (*loc, "value"))
        score = self.score(data, loc)
        if not ok or value is _BAD or score is _BAD or not self.count_leaves(1, loc):
            return None
        # `value` gave a Value and `score` a Score or None: anything else was _BAD.
        return Leaf(
            str(data["field"]),
            str(data["op"]),
            value,  # type: ignore[arg-type]
            Origin(loc),
            score,  # type: ignore[arg-type]
        )

    def score(self, data: Mapping[str, object], loc: Loc) -> Score | object | None:
        """A leaf's `score` ("ntile" with `k`, or "rank_pct"), None without one."""
        kind = data.get("score")
        if kind is None:
            if "k" in data:
                self.error(
                    (*loc, "k"),
                    "k_without_score",
                    'k 只能与 "score": "ntile" 一起使用',
                    'k goes only with "score": "ntile"',
                )
                return _BAD
            return None
        if kind not in SCORE_FUNCTIONS:
            self.error(
                (*loc, "score"), "score_kind", "应为 ntile 或 rank_pct", "must be ntile or rank_pct"
            )
            return _BAD
        if kind == "rank_pct":
            if "k" in data:
                self.error(
                    (*loc, "k"),
                    "k_not_allowed",
                    "rank_pct 不需要 k(百分位固定为 100 组)",
                    "rank_pct takes no k (percentiles are 100 groups)",
                )
                return _BAD
            return Score("rank_pct")
        if "k" not in data:
            self.error(
                (*loc, "k"),
                "missing",
                "ntile 需要分组数 k(如 5 为五分位)",
                "ntile needs k, the number of groups (5 for quintiles)",
            )
            return _BAD
        k = self.value(data["k"], (*loc, "k"))
        return _BAD if k is _BAD else Score("ntile", k)  # type: ignore[arg-type]

    def value(self, data: object, loc: Loc) -> Value | object:
        if data is None or isinstance(data, bool | int | str | Decimal):
            return data
        if isinstance(data, float):
            if data != data or data in (float("inf"), float("-inf")):
                self.error(loc, "number_type", "应为有限数值", "must be a finite number")
                return _BAD
            return Decimal(repr(data))
        if isinstance(data, list):
            items = [self.value(item, (*loc, i)) for i, item in enumerate(data)]
            return _BAD if any(item is _BAD for item in items) else tuple(items)
        self.error(
            loc,
            "value_type",
            "取值应为数值、文本、日期、布尔值或列表",
            "value must be a number, string, date, boolean or list",
        )
        return _BAD

    def rule(self, data: object, loc: Loc) -> Rule | None:
        if not isinstance(data, Mapping):
            self.error(loc, "rule_type", "应为规则对象", "must be a rule object")
            return None
        self.unknown_keys(data, _RULE_KEYS, loc)
        ok = True
        for key in ("key", "category", "when"):
            if key not in data:
                self.error((*loc, key), "missing", "缺少此字段", "field required")
                ok = False
        for key in ("key", "category"):
            if key in data and (not isinstance(data[key], str) or not data[key]):
                self.error((*loc, key), "string_type", "应为非空文本", "must be a non-empty string")
                ok = False
        for key in ("name", "next_action"):
            if data.get(key) is not None and not isinstance(data[key], str):
                self.error((*loc, key), "string_type", "应为文本", "must be a string")
                ok = False
        tags = data.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            self.error((*loc, "tags"), "list_type", "应为文本列表", "must be a list of strings")
            ok = False
        when = self.when(data["when"], (*loc, "when")) if "when" in data else None
        if not ok or when is None:
            return None
        raw_when = data["when"]
        return Rule(
            key=data["key"],
            category=data["category"],
            when=when,
            name=data.get("name"),
            tags=tuple(tags),
            next_action=data.get("next_action"),
            when_text=raw_when if isinstance(raw_when, str) else None,
            origin=Origin(loc),
        )

    def ruleset(self, data: object) -> Ruleset | None:
        if not isinstance(data, Mapping):
            self.error((), "ruleset_type", "应为规则集对象", "must be a ruleset object")
            return None
        self.unknown_keys(data, _RULESET_KEYS, ())
        hit_policy = data.get("hit_policy", "first")
        if hit_policy not in ("first", "collect"):
            self.error(
                ("hit_policy",), "hit_policy", "应为 first 或 collect", "must be first or collect"
            )
        default_category = data.get("default_category", "DEFAULT")
        if not isinstance(default_category, str) or not default_category:
            self.error(
                ("default_category",), "string_type", "应为非空文本", "must be a non-empty string"
            )
        margin = self.margin(data.get("borderline_margin", DEFAULT_BORDERLINE_MARGIN))
        raw_rules = data.get("rules")
        if not isinstance(raw_rules, list):
            self.error(("rules",), "list_type", "应为规则列表", "must be a list of rules")
            return None
        rules = [self.rule(r, ("rules", i)) for i, r in enumerate(raw_rules)]
        return Ruleset(
            rules=tuple(r for r in rules if r is not None),
            default_category=default_category if isinstance(default_category, str) else "",
            hit_policy=hit_policy if hit_policy in ("first", "collect") else "first",
            borderline_margin=margin,
        )

    def margin(self, data: object) -> Decimal:
        value = self.value(data, ("borderline_margin",))
        if isinstance(value, int | Decimal) and not isinstance(value, bool) and 0 <= value < 1:
            return Decimal(value)
        if value is not _BAD:
            self.error(
                ("borderline_margin",),
                "margin_range",
                "应为 0 到 1 之间的小数(如 0.05)",
                "must be a fraction from 0 to below 1 (e.g. 0.05)",
            )
        return DEFAULT_BORDERLINE_MARGIN


_BAD = object()


def read_ruleset(
    data: object, catalog: FieldCatalog = BUILTIN_CATALOG
) -> tuple[Ruleset | None, list[RuleError]]:
    """The tree of a ruleset body and every shape error found.

    Rules with errors are left out of the tree, so callers can still validate the rest
    (every node knows its JSON path); the tree is None only when there is no rules list.
    """
    reader = _Reader(catalog)
    ruleset = reader.ruleset(data)
    return ruleset, reader.errors


def ruleset_from_json(data: object, catalog: FieldCatalog = BUILTIN_CATALOG) -> Ruleset:
    """The tree of a ruleset body; raises RulesetInvalid listing every shape error."""
    ruleset, errors = read_ruleset(data, catalog)
    if errors or ruleset is None:
        raise RulesetInvalid(errors)
    return ruleset


def condition_from_json(
    data: object, catalog: FieldCatalog = BUILTIN_CATALOG, loc: Loc = ()
) -> Condition:
    """A standalone condition (JSON or text), e.g. a run scope's `when` at path `loc`."""
    reader = _Reader(catalog)
    node = reader.when(data, loc)
    if reader.errors or node is None:
        raise RulesetInvalid(reader.errors)
    return node


def value_to_json(value: object) -> object:
    """A tree value as JSON data: Decimal as a float when that is exact, else a string."""
    if isinstance(value, tuple):
        return [value_to_json(v) for v in value]
    if isinstance(value, Decimal):
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if hasattr(value, "isoformat"):  # dates built in Python rather than parsed from JSON
        return value.isoformat()
    return value


def condition_to_json(node: Condition) -> dict[str, object]:
    """The JSON form of a condition."""
    if isinstance(node, Leaf):
        out: dict[str, object] = {"field": node.field}
        if node.score is not None:
            out["score"] = node.score.kind
            if node.score.kind == "ntile":
                out["k"] = value_to_json(node.score.k)
        out["op"] = node.op
        # is_null and is_not_null take no value; anything else keeps its (maybe null) value.
        if node.value is not None or node.op not in ("is_null", "is_not_null"):
            out["value"] = value_to_json(node.value)
        return out
    if isinstance(node, Not):
        return {"not": condition_to_json(node.item)}
    key = "all" if isinstance(node, All) else "any"
    return {key: [condition_to_json(item) for item in node.items]}


def rule_to_json(rule: Rule, when_style: WhenStyle = "source") -> dict[str, object]:
    """The JSON form of a rule; `when_style` "source" keeps a text `when` as text."""
    when: object
    if when_style == "text" or (when_style == "source" and rule.when_text is not None):
        when = rule.when_text if when_style == "source" else print_text(rule.when)
    else:
        when = condition_to_json(rule.when)
    return {
        "key": rule.key,
        "name": rule.name,
        "category": rule.category,
        "when": when,
        "tags": list(rule.tags),
        "next_action": rule.next_action,
    }


def ruleset_to_json(ruleset: Ruleset, when_style: WhenStyle = "source") -> dict[str, object]:
    """The JSON form of a ruleset (every key present, in the design's order)."""
    return {
        "hit_policy": ruleset.hit_policy,
        "default_category": ruleset.default_category,
        "borderline_margin": value_to_json(ruleset.borderline_margin),
        "rules": [rule_to_json(rule, when_style) for rule in ruleset.rules],
    }
