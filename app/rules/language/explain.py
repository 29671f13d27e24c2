"""The rationale of an evaluation in words (分类依据说明), in zh-CN or English.

A rationale names the matched rule, says the conditions that decided it ("近12个月交易金额
65.00万元 ≥ 50.00万元;近6个月互动 12 次 ≥ 10 次"), lists every condition of the matched
rule(s) with its outcome, and says why each rule tried before it did not match ("核心客户:
… 不满足,还差 15.00万元"). It is built from the ruleset, the customer's values and as_of
alone, so a stored run can rebuild it exactly instead of storing text for every customer.

Every word comes from the tables in `words.py`, and every value is said by its field's
`value_formatter`. One ruleset is said to many customers, so the templates are filled in
two steps: what is the same for every customer (labels, thresholds, rule names, the words
around them) once per evaluator and locale, kept in the evaluator's memo; per customer
only its values, each formatted once and put in the holes left for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from app.catalog import BUILTIN_CATALOG, FieldCatalog, FieldDef
from app.core.i18n import Locale
from app.rules.language.deciding import GapFunction, ReasonLeaf, gap_function
from app.rules.language.evaluate import Evaluation, Evaluator, PreparedLeaf
from app.rules.language.outcomes import NEGATED_OPS
from app.rules.language.quantiles import Scored, Scoring, requirement, score_field, top_percent
from app.rules.language.tree import Loc
from app.rules.language.words import (
    format_value,
    plain_number,
    split_template,
    value_formatter,
    words_for,
)

__all__ = ["Rationale", "explain", "format_value", "jsonable", "value_formatter"]

RuleRef = dict[str, str | None]  # {"key": …, "name": …}


@dataclass(frozen=True, slots=True)
class Rationale:
    """Why a customer got its category: the rule, the conditions, a sentence, why-not."""

    rule: RuleRef | None
    text: str
    conditions: list[dict[str, object]]
    why_not: list[dict[str, object]]
    borderline: bool

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (`rule`, `text`, `conditions`, `why_not`, `borderline`)."""
        return {
            "rule": self.rule,
            "text": self.text,
            "conditions": self.conditions,
            "why_not": self.why_not,
            "borderline": self.borderline,
        }


def explain(
    evaluation: Evaluation, catalog: FieldCatalog = BUILTIN_CATALOG, locale: Locale = "zh-CN"
) -> Rationale:
    """The rationale of `evaluation` in `locale`.

    `conditions` lists every leaf of the matched rule(s) with pass/fail; the sentence
    names the conditions that decided the match, joined by ";" (zh) or "; " (en).
    """
    ruleset = _ruleset_words(evaluation.evaluator, catalog, locale)
    outline = ruleset.outline(evaluation)
    leaves = ruleset.leaves
    values = _Values(evaluation, leaves)
    return Rationale(
        rule=None if outline.rule is None else dict(outline.rule),
        text=ruleset.sentence(outline, values),
        conditions=[leaves[leaf].outcome(values, passed) for leaf, passed in outline.conditions],
        why_not=[why_not.entry(values) for why_not in outline.why_not],
        borderline=evaluation.borderline,
    )


def jsonable(value: object) -> object:
    """A value for a JSON response: Decimal as a string (exact), dates ISO, tuples as lists."""
    kind = type(value)
    if kind is int or kind is str or value is None:
        return value
    if kind is Scored:
        return int(value)  # type: ignore[call-overload]  # an int
    if isinstance(value, Decimal):
        return plain_number(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    return value


def _fresh(json: object) -> object:
    """A JSON value to hand out: a list is copied, so each rationale has its own."""
    return list(json) if type(json) is list else json


# What is said alike to every customer ---------------------------------------------------


def _ruleset_words(evaluator: Evaluator, catalog: FieldCatalog, locale: Locale) -> _RulesetWords:
    """The words of `evaluator`'s ruleset in `locale`, built on first use and kept in the
    evaluator's memo as long as it lives (for the evaluator's own catalog)."""
    if catalog is not evaluator.catalog:
        return _RulesetWords(evaluator, catalog, locale)
    said = evaluator.memo.get(locale)
    if not isinstance(said, _RulesetWords):
        said = evaluator.memo[locale] = _RulesetWords(evaluator, catalog, locale)
    return said


@dataclass(frozen=True, slots=True)
class _Condition:
    """A condition in words but for the customer's value: the words before and after it
    (`after` is None where the value is not said, as in "所在地区 为空")."""

    before: str
    after: str | None

    def say(self, actual: str) -> str:
        return self.before if self.after is None else f"{self.before}{actual}{self.after}"


@dataclass(frozen=True, slots=True)
class _LeafWords:
    """What is said of one leaf: its entry's fixed fields and its condition in words."""

    index: int
    path: Loc
    field: str
    label: str
    op: str
    threshold: object  # as in JSON
    format: Callable[[object], str]  # the field's values in words
    conditions: tuple[_Condition, _Condition]  # as written, and under a `not` (index True)
    score: dict[str, object] | None = None  # a score leaf's {"kind", "k"}

    def outcome(self, values: _Values, passed: bool) -> dict[str, object]:
        """The leaf's entry in a rationale's `conditions` (a score leaf's `actual` is the
        customer's score, and `value` the value it was scored from)."""
        entry = {
            "index": self.index,
            "path": list(self.path),
            "field": self.field,
            "label": self.label,
            "op": self.op,
            "threshold": _fresh(self.threshold),
            "actual": values.json(self.index),
            "passed": passed,
            "text": values.condition((self.index, False)),
        }
        if self.score is not None:
            scored = values.actuals[self.index]
            entry["score"] = dict(self.score)
            entry["value"] = jsonable(scored.value) if isinstance(scored, Scored) else None
        return entry


def _leaf_words(leaf: PreparedLeaf, definition: FieldDef | None, locale: Locale) -> _LeafWords:
    if leaf.scoring is not None and definition is not None:
        return _score_words(leaf, leaf.scoring, definition, locale)
    field, op, threshold = leaf.leaf.field, leaf.leaf.op, leaf.threshold
    label = definition.label(locale) if definition else field
    say_value = value_formatter(definition, locale)
    fixed = {"label": label, "threshold": say_value(threshold), "days": threshold}
    if isinstance(threshold, tuple) and len(threshold) == 2:
        fixed["low"], fixed["high"] = say_value(threshold[0]), say_value(threshold[1])
    templates = words_for(locale).conditions

    def condition(op: str) -> _Condition:
        template = templates[op]
        if "{actual}" not in template:
            return _Condition(template.format(**fixed), None)
        return _Condition(*split_template(template, "actual", **fixed))

    return _LeafWords(
        index=leaf.index,
        path=leaf.path,
        field=field,
        label=label,
        op=op,
        threshold=jsonable(threshold),
        format=say_value,
        conditions=(condition(op), condition(NEGATED_OPS[op])),
    )


_SCORE_WORDS: Final = {
    "zh-CN": {
        "standing": "{value},位于前 {percent}%",
        "groups": "{number} 档",
        "inside": "前 {percent}%",
        "outside": "未进入前 {percent}%",
        "needs": " 需 {symbol} {cut}",
        "around": "({text})",
    },
    "en": {
        "standing": "{value}, in the top {percent}%",
        "groups": "{number} group(s)",
        "inside": "top {percent}%",
        "outside": "not in the top {percent}%",
        "needs": " needs {symbol} {cut}",
        "around": " ({text})",
    },
}


def _score_words(
    leaf: PreparedLeaf, scoring: Scoring, definition: FieldDef, locale: Locale
) -> _LeafWords:
    """A score leaf in words: the customer's value and where it stands in the population,
    then what the condition asks ("近12个月交易金额 65.00万元,位于前 5%(前 20% 需 ≥
    48.00万元)"); a one-sided condition is said as a top share and its cut point."""
    score = leaf.leaf.score
    assert score is not None
    words = _SCORE_WORDS["en" if locale == "en" else "zh-CN"]
    label = definition.label(locale)
    say_value = value_formatter(definition, locale)
    buckets = scoring.key.buckets
    as_score = score_field(definition, score)
    say_score = value_formatter(as_score, locale)

    def say(value: object) -> str:
        if isinstance(value, Scored):
            percent = top_percent(value, buckets)
            return words["standing"].format(value=say_value(value.value), percent=percent)
        if isinstance(value, int) and not isinstance(value, bool):  # a gap, in groups
            return words["groups"].format(number=value)
        return say_value(value)

    def condition(op: str) -> _Condition:
        need = requirement(op, leaf.threshold, buckets, scoring.cuts, scoring.lower_better)
        if need is None:
            template = words_for(locale).conditions[op].replace(" {actual}", "")
            fixed = {"label": as_score.label(locale), "threshold": say_score(leaf.threshold)}
            if isinstance(leaf.threshold, tuple) and len(leaf.threshold) == 2:
                fixed["low"], fixed["high"] = (say_score(t) for t in leaf.threshold)
            text = template.format(**fixed)
        else:
            text = words["inside" if need.inside else "outside"].format(percent=need.percent)
            if need.cut is not None:
                text += words["needs"].format(symbol=need.symbol, cut=say_value(need.cut))
        return _Condition(f"{label} ", words["around"].format(text=text))

    op = leaf.leaf.op
    return _LeafWords(
        index=leaf.index,
        path=leaf.path,
        field=leaf.leaf.field,
        label=label,
        op=op,
        threshold=jsonable(leaf.threshold),
        format=say,
        conditions=(condition(op), condition(NEGATED_OPS[op])),
        score={"kind": score.kind, "k": buckets},
    )


@dataclass(frozen=True, slots=True)
class _Outline:
    """What a rationale says for one pattern of leaf results (the evaluator's shape),
    but for the values."""

    rule: RuleRef | None  # the (first) matched rule
    # per matched rule, its deciding conditions and the words before and after them
    sentences: tuple[tuple[str, tuple[ReasonLeaf, ...], str], ...]
    conditions: tuple[tuple[int, bool], ...]  # (leaf, passed) of the matched rules' leaves
    why_not: tuple[_WhyNot | _RuleOnly, ...]


class _RulesetWords:
    """What a rationale says of one evaluator's ruleset in one locale, but for the values."""

    def __init__(self, evaluator: Evaluator, catalog: FieldCatalog, locale: Locale) -> None:
        self.evaluator = evaluator
        self.words = words_for(locale)
        rules = evaluator.ruleset.rules
        self.rule_refs: list[RuleRef] = [{"key": rule.key, "name": rule.name} for rule in rules]
        self.rule_names = [rule.name or rule.key for rule in rules]
        self.leaves = [_leaf_words(p, catalog.get(p.leaf.field), locale) for p in evaluator.leaves]
        self.rule_leaves: list[list[int]] = [[] for _ in rules]
        for p in evaluator.leaves:
            self.rule_leaves[p.rule_index].append(p.index)
        # An outline per pattern the evaluator keeps a shape for: as bounded as its shapes.
        self.outlines: dict[tuple[bool, ...], _Outline] = {}

    def outline(self, evaluation: Evaluation) -> _Outline:
        """The outline for `evaluation`'s pattern of leaf results."""
        outline = self.outlines.get(evaluation.results)
        if outline is None:
            outline = self._outline(evaluation)
            if evaluation.results in self.evaluator.shapes:
                self.outlines[evaluation.results] = outline
        return outline

    def sentence(self, outline: _Outline, values: _Values) -> str:
        """The deciding conditions of each matched rule, the rule named when several are."""
        if not outline.sentences:
            return self.words.no_match
        between = self.words.conditions_separator
        return self.words.rules_separator.join(
            [
                f"{before}{between.join([values.condition(leaf) for leaf in leaves])}{after}"
                for before, leaves, after in outline.sentences
            ]
        )

    def _outline(self, evaluation: Evaluation) -> _Outline:
        shape, results = evaluation.shape, evaluation.results
        matched = shape.matched
        sentences = []
        for rule, leaves in zip(matched, shape.reasons, strict=True):
            before, after = ("", "")
            if len(matched) > 1:
                before, after = split_template(
                    self.words.of_rule, "text", rule=self.rule_names[rule]
                )
            sentences.append((before, leaves, after))
        return _Outline(
            rule=self.rule_refs[matched[0]] if matched else None,
            sentences=tuple(sentences),
            conditions=tuple(
                (leaf, results[leaf]) for i in matched for leaf in self.rule_leaves[i]
            ),
            why_not=tuple(
                _RuleOnly(self.rule_refs[rule], self.rule_names[rule])
                if first is None
                else self._why_not(rule, *first)
                for rule, first in shape.why_not
            ),
        )

    def _of_rule(self, rule: int, text: str, *holes: str, **fixed: object) -> list[str]:
        """`words.of_rule` for `rule`, with the template `text` as what is said of it: the
        words around `holes`, the other holes filled in from `fixed`."""
        template = self.words.of_rule.replace("{text}", text)
        return split_template(template, *holes, rule=self.rule_names[rule], **fixed)

    def _why_not(self, rule: int, leaf: int, negated: bool) -> _WhyNot:
        words, leaf_words = self.words, self.leaves[leaf]
        op = NEGATED_OPS[leaf_words.op] if negated else leaf_words.op
        (no_data,) = self._of_rule(rule, words.no_data_for, label=leaf_words.label)
        return _WhyNot(
            rule=self.rule_refs[rule],
            leaf=leaf_words,
            condition=(leaf, negated),
            op=op,
            # A score's gap in groups says little; its words name the cut point instead.
            gap=_no_gap
            if leaf_words.score is not None
            else gap_function(op, self.evaluator.leaves[leaf].threshold),
            no_data=no_data,
            not_met=self._of_rule(rule, words.not_met, "condition"),
            short_by=self._of_rule(rule, words.short_by, "condition", "gap"),
            over_by=self._of_rule(rule, words.over_by, "condition", "gap"),
            off_by_days=self._of_rule(rule, words.off_by_days, "condition", "gap"),
        )


def _no_gap(actual: object, as_of: date) -> None:
    return None


@dataclass(frozen=True, slots=True)
class _WhyNot:
    """A rule that did not match, said by its first failing condition, but for the values:
    the words around the condition (and the gap, by which way the value missed)."""

    rule: RuleRef
    leaf: _LeafWords
    condition: ReasonLeaf  # the leaf, and whether it is under a `not`
    op: str  # as it counts (under a `not`, the leaf's negation)
    gap: GapFunction
    no_data: str  # the whole text when the customer has no value
    not_met: list[str]  # around the condition
    short_by: list[str]  # around the condition and the gap
    over_by: list[str]
    off_by_days: list[str]

    def entry(self, values: _Values) -> dict[str, object]:
        """The rule's entry in a rationale's `why_not`."""
        leaf = self.leaf
        actual = values.actuals[leaf.index]
        if actual is None:
            text, missed = self.no_data, None
        else:
            condition = values.condition(self.condition)
            # A why-not condition is unmet by construction: a gap, if any, is by how much.
            missed = self.gap(actual, values.as_of)
            if missed is None:
                before, after = self.not_met
                text = f"{before}{condition}{after}"
            elif isinstance(actual, date):
                before, middle, after = self.off_by_days
                text = f"{before}{condition}{middle}{missed[0]}{after}"
            else:
                before, middle, after = self.short_by if missed[1] == "raise" else self.over_by
                text = f"{before}{condition}{middle}{leaf.format(missed[0])}{after}"
        return {
            "rule": dict(self.rule),
            "field": leaf.field,
            "label": leaf.label,
            "op": self.op,
            "threshold": _fresh(leaf.threshold),
            "actual": values.json(leaf.index),
            "gap": None if missed is None else jsonable(missed[0]),
            "text": text,
        }


@dataclass(frozen=True, slots=True)
class _RuleOnly:
    """A why-not entry for a rule without conditions to name: the rule's name alone."""

    rule: RuleRef
    text: str

    def entry(self, values: _Values) -> dict[str, object]:
        return {"rule": dict(self.rule), "text": self.text}


# What is said per customer ------------------------------------------------------------


class _Values:
    """One customer's values in words and as JSON, each worked out once however many
    conditions name its field, and its conditions in words, each said once."""

    __slots__ = ("_conditions", "_json", "_leaves", "_slots", "_texts", "actuals", "as_of")

    def __init__(self, evaluation: Evaluation, leaves: list[_LeafWords]) -> None:
        self.as_of = evaluation.as_of
        self.actuals = evaluation.actuals
        self._leaves = leaves
        self._slots = evaluation.evaluator.slots  # a leaf's field's place
        fields = len(evaluation.evaluator.keys)
        self._texts: list[str | None] = [None] * fields
        self._json: list[object] = [_UNSET] * fields
        self._conditions: dict[ReasonLeaf, str] = {}

    def text(self, leaf: int) -> str:
        """The value of `leaf`'s field in words."""
        slot = self._slots[leaf]
        said = self._texts[slot]
        if said is None:
            said = self._texts[slot] = self._leaves[leaf].format(self.actuals[leaf])
        return said

    def json(self, leaf: int) -> object:
        """The value of `leaf`'s field as JSON."""
        slot = self._slots[leaf]
        value = self._json[slot]
        if value is _UNSET:
            value = self._json[slot] = jsonable(self.actuals[leaf])
        return _fresh(value)

    def condition(self, reason: ReasonLeaf) -> str:
        """The condition of a leaf (as written, or under a `not`) with the value in words."""
        said = self._conditions.get(reason)
        if said is None:
            leaf, negated = reason
            said = self._leaves[leaf].conditions[negated].say(self.text(leaf))
            self._conditions[reason] = said
        return said


_UNSET: Final = object()
