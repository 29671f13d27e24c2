"""Type-checking rules against the field catalog and the category tree.

Every problem is collected (not just the first) with the JSON path of the bad node, so
an editor can mark them all at once. A condition written as text is reported at the
path of its string, with the line and column inside it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from app.catalog import BUILTIN_CATALOG, OPERATORS, FieldCatalog, FieldDef, operators_for
from app.core.i18n import Text
from app.rules.language.errors import RuleError, RulesetInvalid, error_at
from app.rules.language.limits import MAX_CONDITIONS, MAX_DEPTH
from app.rules.language.parse_json import condition_from_json, read_ruleset
from app.rules.language.quantiles import (
    MAX_BUCKETS,
    MIN_BUCKETS,
    buckets_of,
    score_field,
    scoreable,
)
from app.rules.language.tree import All, Condition, Leaf, Loc, Not, Ruleset
from app.rules.language.values import ValueProblem, operand

_TYPE_ZH: Final = {
    "number": "数值",
    "integer": "整数",
    "date": "日期",
    "string": "文本",
    "enum": "枚举",
    "boolean": "布尔",
    "string_list": "文本列表",
}


def validate_condition(
    node: Condition, catalog: FieldCatalog = BUILTIN_CATALOG, loc: Loc = ()
) -> list[RuleError]:
    """Every problem of one condition tree whose JSON path is `loc`.

    A standalone condition (a run's scope, a customer filter) has no population to rank
    customers in, so scores (ntile, rank_pct) are refused there."""
    checker = _ConditionChecker(catalog, allow_scores=False)
    checker.check(node, loc, 1)
    if checker.leaves > MAX_CONDITIONS:
        checker.errors.append(_too_many(loc))
    return checker.errors


def validate_ruleset(
    ruleset: Ruleset,
    catalog: FieldCatalog = BUILTIN_CATALOG,
    categories: Collection[str] | None = None,
    multi_assign: bool = False,
) -> list[RuleError]:
    """Every problem of a ruleset: fields, operators, values, categories, keys, limits.

    `categories` are the codes of the ruleset's tree (None skips the category check, for
    evaluating a draft without a tree); `multi_assign` says whether the tree allows
    `collect`.
    """
    errors: list[RuleError] = []
    if ruleset.hit_policy == "collect" and not multi_assign:
        errors.append(
            RuleError(
                ("hit_policy",),
                "collect_single_assign",
                Text(
                    "hit_policy 为 collect 时分类维度须允许多重归类(multi_assign)",
                    "hit_policy collect needs a multi-assign category tree",
                ),
            )
        )
    if categories is not None and ruleset.default_category not in categories:
        errors.append(_unknown_category(("default_category",), ruleset.default_category))
    checker = _ConditionChecker(catalog, allow_scores=True)
    seen: set[str] = set()
    for index, rule in enumerate(ruleset.rules):
        rule_loc: Loc = rule.origin.loc if rule.origin else ("rules", index)
        if rule.key in seen:
            errors.append(
                RuleError(
                    (*rule_loc, "key"),
                    "duplicate_key",
                    Text(
                        f"规则键 “{rule.key}” 重复",
                        f"duplicate rule key '{rule.key}'",
                    ),
                )
            )
        seen.add(rule.key)
        if categories is not None and rule.category not in categories:
            errors.append(_unknown_category((*rule_loc, "category"), rule.category))
        checker.check(rule.when, (*rule_loc, "when"), 1)
    errors.extend(checker.errors)
    if checker.leaves > MAX_CONDITIONS:
        errors.append(_too_many(("rules",)))
    return errors


def check_ruleset(
    data: object,
    catalog: FieldCatalog = BUILTIN_CATALOG,
    categories: Collection[str] | None = None,
    multi_assign: bool = False,
) -> Ruleset:
    """Read and validate a ruleset body; raises RulesetInvalid listing every problem."""
    ruleset, errors = read_ruleset(data, catalog)
    if ruleset is not None:
        errors = errors + validate_ruleset(ruleset, catalog, categories, multi_assign)
    if errors or ruleset is None:
        raise RulesetInvalid(errors)
    return ruleset


def check_condition(
    data: object, catalog: FieldCatalog = BUILTIN_CATALOG, loc: Loc = ()
) -> Condition:
    """Read and validate a standalone condition (JSON or text) at JSON path `loc`."""
    node = condition_from_json(data, catalog, loc)
    errors = validate_condition(node, catalog, loc)
    if errors:
        raise RulesetInvalid(errors)
    return node


def _unknown_category(loc: Loc, code: str) -> RuleError:
    return RuleError(
        loc,
        "unknown_category",
        Text(
            f"分类编码 “{code}” 不在此分类维度中",
            f"category code '{code}' is not in the tree",
        ),
    )


def _too_many(loc: Loc) -> RuleError:
    return RuleError(
        loc,
        "too_many_conditions",
        Text(
            f"条件总数超过 {MAX_CONDITIONS} 个",
            f"more than {MAX_CONDITIONS} conditions in total",
        ),
    )


class _ConditionChecker:
    def __init__(self, catalog: FieldCatalog, allow_scores: bool) -> None:
        self.catalog = catalog
        self.allow_scores = allow_scores
        self.errors: list[RuleError] = []
        self.leaves = 0

    def report(self, node: Condition, loc: Loc, suffix: Loc, type_: str, text: Text) -> None:
        origin = node.origin
        if origin is not None and origin.line is not None:
            # Inside a text expression: the path is the string's, the position says where.
            self.errors.append(error_at(origin, loc, type_, text))
        else:
            base = origin.loc if origin is not None else loc
            self.errors.append(RuleError((*base, *suffix), type_, text))

    def check(self, node: Condition, loc: Loc, level: int) -> None:
        # Trees from JSON or text are depth-checked when read; this covers trees built in
        # code, and stops before recursing too far.
        if level > MAX_DEPTH:
            self.report(
                node,
                loc,
                (),
                "too_deep",
                Text(f"条件嵌套超过 {MAX_DEPTH} 层", f"nested deeper than {MAX_DEPTH}"),
            )
            return
        if isinstance(node, Leaf):
            self.leaves += 1
            self.leaf(node, loc)
        elif isinstance(node, Not):
            self.check(node.item, (*loc, "not"), level + 1)
        else:
            key = "all" if isinstance(node, All) else "any"
            if not node.items:
                self.report(
                    node,
                    loc,
                    (key,),
                    "too_short",
                    Text("条件组不能为空", "a condition group must not be empty"),
                )
            for i, item in enumerate(node.items):
                self.check(item, (*loc, key, i), level + 1)

    def leaf(self, leaf: Leaf, loc: Loc) -> None:
        definition = self.catalog.get(leaf.field)
        if leaf.op not in OPERATORS:
            self.report(
                leaf,
                loc,
                ("op",),
                "operator_unknown",
                Text(f"未知运算符 “{leaf.op}”", f"unknown operator '{leaf.op}'"),
            )
            return
        if definition is None:
            self.report(
                leaf,
                loc,
                ("field",),
                "unknown_field",
                Text(f"未知字段 “{leaf.field}”", f"unknown field '{leaf.field}'"),
            )
            return
        if leaf.score is not None:
            self.scored(leaf, definition, loc)
            return
        if leaf.op not in operators_for(definition.type):
            self.report(
                leaf,
                loc,
                ("op",),
                "operator_not_allowed",
                Text(
                    f"字段 “{definition.label_zh}”({_TYPE_ZH[definition.type]})"
                    f"不支持运算符 {leaf.op}",
                    f"operator '{leaf.op}' is not allowed for field '{leaf.field}' "
                    f"({definition.type})",
                ),
            )
            return
        try:
            operand(definition, leaf.op, leaf.value)
        except ValueProblem as problem:
            self.report(leaf, loc, ("value", *problem.sub_loc), problem.type, problem.text)

    def scored(self, leaf: Leaf, definition: FieldDef, loc: Loc) -> None:
        """A score leaf: where scores are allowed, on a numeric field, with k in range,
        an operator of whole numbers and values from 0 to k."""
        score = leaf.score
        assert score is not None
        if not self.allow_scores:
            self.report(
                leaf,
                loc,
                ("score",),
                "score_not_allowed",
                Text(
                    "分位数(ntile、rank_pct、前 N%)只能用于规则集的规则中",
                    "scores (ntile, rank_pct, top N%) are allowed only in a ruleset's rules",
                ),
            )
            return
        if not scoreable(definition):
            self.report(
                leaf,
                loc,
                ("field",),
                "score_field",
                Text(
                    f"{score.kind} 只适用于数值字段(金额、次数、天数),"
                    f"“{definition.label_zh}” 是{_TYPE_ZH[definition.type]}字段",
                    f"{score.kind} applies only to numeric fields (amounts, counts, days); "
                    f"'{definition.key}' is a {definition.type} field",
                ),
            )
            return
        k = score.k
        if score.kind == "ntile" and (
            not isinstance(k, int) or isinstance(k, bool) or not MIN_BUCKETS <= k <= MAX_BUCKETS
        ):
            self.report(
                leaf,
                loc,
                ("k",),
                "ntile_k",
                Text(
                    f"ntile 的分组数 k 应为 {MIN_BUCKETS} 到 {MAX_BUCKETS} 之间的整数"
                    "(如 5 为五分位)",
                    f"ntile's k must be a whole number from {MIN_BUCKETS} to {MAX_BUCKETS} "
                    "(5 for quintiles)",
                ),
            )
            return
        scored_as = score_field(definition, score)
        if leaf.op not in operators_for("integer"):
            self.report(
                leaf,
                loc,
                ("op",),
                "operator_not_allowed",
                Text(
                    f"分位数 “{scored_as.label_zh}” 不支持运算符 {leaf.op}",
                    f"operator '{leaf.op}' is not allowed for the score '{scored_as.key}'",
                ),
            )
            return
        try:
            threshold = operand(scored_as, leaf.op, leaf.value)
        except ValueProblem as problem:
            self.report(leaf, loc, ("value", *problem.sub_loc), problem.type, problem.text)
            return
        buckets = buckets_of(score)
        items = threshold if isinstance(threshold, tuple) else (threshold,)
        if any(isinstance(v, int) and not 0 <= v <= buckets for v in items):
            self.report(
                leaf,
                loc,
                ("value",),
                "score_range",
                Text(
                    f"{scored_as.label_zh} 的取值应在 0 到 {buckets} 之间",
                    f"values of {scored_as.key} must lie from 0 to {buckets}",
                ),
            )
