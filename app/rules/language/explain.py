"""The rationale of an evaluation in words (分类依据说明), in zh-CN or English.

Money is shown in 万元 with two decimals in Chinese ("65.00万元") and as "CNY 650,000.00"
in English; counts, days, months and employees carry their units. A rationale is built
from the ruleset, the customer's values and as_of alone, so a stored run can rebuild it
exactly instead of storing text for every customer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from app.catalog import BUILTIN_CATALOG, FieldCatalog, FieldDef
from app.core.i18n import Locale
from app.rules.language.deciding import GapFunction, gap_function
from app.rules.language.evaluate import Evaluation, Evaluator, PreparedLeaf
from app.rules.language.outcomes import NEGATED_OPS
from app.rules.language.tree import Loc, Rule

_SYMBOLS: Final = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}
_CENT: Final = Decimal("0.01")
_WAN: Final = Decimal(10_000)
_UNITS: Final = {
    "count": ("次", ""),
    "days": ("天", "days"),
    "months": ("个月", "months"),
    "employees": ("人", "employees"),
}
_LIST_WORDS: Final = {
    "in": ("属于", "in"), "not_in": ("不属于", "not in"),
    "contains": ("包含", "contains"), "not_contains": ("不包含", "does not contain"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rationale:
    """Why a customer got its category: the rule, the conditions, a sentence, why-not."""

    rule: dict[str, str | None] | None
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
    words = _words_for(evaluation.evaluator, catalog, locale)
    plan = words.plans.get(evaluation.results)
    if plan is None:
        plan = words.plan(evaluation)
    values = _Values(evaluation, words)
    phrase = words.phrase
    shape = evaluation.shape
    sentences = [
        words.separator.join([phrase(leaf, negated, values) for leaf, negated in leaves])
        for leaves in shape.reasons
    ]
    if not sentences:
        text = words.no_match
    elif len(sentences) == 1:
        text = sentences[0]
    else:
        # collect: several rules matched; say which sentence belongs to which rule.
        text = " / ".join(
            f"{words.rule_names[i]}{words.colon}{s}"
            for i, s in zip(shape.matched, sentences, strict=True)
        )
    outcome = words.outcome
    conditions = [outcome(leaf, values, passed) for leaf, passed in plan.conditions]
    why_not = [said.render(words, values, leaf) for said, leaf in plan.why_not]
    return Rationale(
        rule=None if plan.rule is None else dict(plan.rule),
        text=text,
        conditions=conditions,
        why_not=why_not,
        borderline=evaluation.borderline,
    )


def format_value(definition: FieldDef | None, value: object, locale: Locale = "zh-CN") -> str:
    """A value with its unit as people read it ("65.00万元", "12 次", "CNY 650,000.00")."""
    en = locale == "en"
    if value is None:
        return "no data" if en else "无数据"
    if isinstance(value, tuple | list):
        return (", " if en else "、").join(format_value(definition, v, locale) for v in value)
    if isinstance(value, bool):
        return ("yes" if value else "no") if en else ("是" if value else "否")
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, int | Decimal):
        return str(value)
    unit = definition.unit if definition else None
    if unit == "CNY":
        if en:
            return f"CNY {Decimal(value).quantize(_CENT, ROUND_HALF_UP):,}"
        return _wan(Decimal(value))
    number = _plain(value) if isinstance(value, Decimal) else str(value)
    suffix = {
        "count": ("次", ""),
        "days": ("天", "days"),
        "months": ("个月", "months"),
        "employees": ("人", "employees"),
    }.get(unit or "", ("", ""))[1 if en else 0]
    return f"{number} {suffix}" if suffix else number


def _wan(value: Decimal | int) -> str:
    # str() of a Decimal quantized to cents is plain notation, and a good deal cheaper than
    # an f-string's format(…, "") of it.
    return str((value / _WAN).quantize(_CENT, ROUND_HALF_UP)) + "万元"


def _plain(value: Decimal) -> str:
    """A Decimal in plain notation, never scientific ("1E+2" is "100")."""
    said = str(value)  # plain for the usual exponents, and cheaper than format(…, "f")
    return format(value, "f") if "E" in said else said


def _rule_name(rule: Rule) -> str:
    return rule.name or rule.key


def value_formatter(definition: FieldDef | None, locale: Locale) -> Callable[[object], str]:
    """`format_value` for one field and locale, with the common cases (money and counts
    as Decimal or int) worked out once instead of per value."""
    en = locale == "en"
    unit = definition.unit if definition else None

    def general(value: object) -> str:
        return format_value(definition, value, locale)

    if unit == "CNY" and not en:

        def money(value: object) -> str:
            if type(value) is Decimal or type(value) is int:
                return _wan(value)
            return general(value)

        return money
    suffix = _UNITS.get(unit or "", ("", ""))[1 if en else 0]
    if unit != "CNY" and suffix:
        tail = f" {suffix}"

        def counted(value: object) -> str:
            if type(value) is int:
                return f"{value}{tail}"
            return general(value)

        return counted
    return general


# The words of one evaluator's leaves in one locale are built on first use and kept in
# the evaluator's memo, as long as the evaluator lives.
def _words_for(evaluator: Evaluator, catalog: FieldCatalog, locale: Locale) -> _Words:
    if catalog is not evaluator.catalog:
        return _Words(evaluator, catalog, locale)
    words = evaluator.memo.get(locale)
    if not isinstance(words, _Words):
        words = evaluator.memo[locale] = _Words(evaluator, catalog, locale)
    return words


@dataclass(frozen=True, slots=True)
class _LeafWords:
    """What is said about one leaf, everything but its actual value fixed in advance."""

    label: str
    field: str
    op: str
    threshold: object  # as in JSON
    format: Callable[[object], str]
    # (text before the actual value, text after, whether the actual value is said),
    # for the leaf as written and under a `not`.
    phrase: tuple[tuple[str, str, bool], tuple[str, str, bool]]
    effective_op: tuple[str, str]
    index: int
    path: Loc

    def say(self, negated: bool, actual: str) -> str:
        """The condition in words, given the actual value as said."""
        before, after, with_actual = self.phrase[negated]
        return f"{before}{actual}{after}" if with_actual else before


class _Words:
    def __init__(self, evaluator: Evaluator, catalog: FieldCatalog, locale: Locale) -> None:
        self.en = en = locale == "en"
        self.locale: Locale = locale
        self.separator = "; " if en else ";"
        self.colon = ": " if en else ":"
        self.no_match = "No rule matched; default category" if en else "未命中任何规则,归入默认分类"
        rules = evaluator.ruleset.rules
        self.rule_names = [_rule_name(rule) for rule in rules]
        self.rule_refs = [{"key": rule.key, "name": rule.name} for rule in rules]
        self.rule_leaves: list[list[int]] = [[] for _ in rules]
        self.leaves: list[_LeafWords] = []
        self.plans: dict[tuple[bool, ...], _Plan] = {}
        for p in evaluator.leaves:
            self.rule_leaves[p.rule_index].append(p.index)
            self.leaves.append(self._leaf_words(p, catalog.get(p.leaf.field)))

    def _leaf_words(self, p: PreparedLeaf, definition: FieldDef | None) -> _LeafWords:
        field, op = p.leaf.field, p.leaf.op
        label = definition.label(self.locale) if definition else field
        negated = NEGATED_OPS[op]
        threshold = jsonable(p.threshold)
        return _LeafWords(
            label, field, op, threshold, value_formatter(definition, self.locale),
            (self._phrase(definition, label, op, p.threshold),
             self._phrase(definition, label, negated, p.threshold)),
            (op, negated), p.index, p.path,
        )  # fmt: skip

    def _phrase(
        self, definition: FieldDef | None, label: str, op: str, t: object
    ) -> tuple[str, str, bool]:
        en = self.en

        def value(v: object) -> str:
            return format_value(definition, v, self.locale)

        if op in _SYMBOLS:
            return f"{label} ", f" {_SYMBOLS[op]} {value(t)}", True
        if op == "is_null":
            return (f"{label} is empty" if en else f"{label} 为空"), "", False
        if op == "is_not_null":
            return f"{label} ", (" is not empty" if en else " 非空"), True
        if op in ("between", "not_between") and isinstance(t, tuple):
            lo, hi = (value(v) for v in t)
            if en:
                return (
                    f"{label} ",
                    f" {'not ' if op != 'between' else ''}between {lo} and {hi}",
                    True,
                )
            return f"{label} ", f" {'不' if op != 'between' else ''}在 {lo} 至 {hi} 之间", True
        if op in ("within_last_days", "not_within_last_days"):
            no = op != "within_last_days"
            if en:
                return f"{label} ", f" {'not ' if no else ''}within last {t} days", True
            return f"{label} ", f" {'不' if no else ''}在近 {t} 天内", True
        word = _LIST_WORDS.get(op, (op, op))[1 if en else 0]
        return f"{label} ", f" {word} {value(t)}", True

    def phrase(self, leaf: int, negated: bool, values: _Values) -> str:
        key = -leaf - 1 if negated else leaf
        said = values.phrases.get(key)
        if said is None:
            said = values.phrases[key] = self.leaves[leaf].say(negated, values.text(leaf))
        return said

    def outcome(self, leaf: int, values: _Values, passed: bool) -> dict[str, object]:
        words = self.leaves[leaf]
        threshold = words.threshold
        return {
            "index": words.index,
            "path": list(words.path),
            "field": words.field,
            "label": words.label,
            "op": words.op,
            "threshold": list(threshold) if type(threshold) is list else threshold,
            "actual": values.json(leaf),
            "passed": passed,
            "text": self.phrase(leaf, False, values),
        }

    def plan(self, evaluation: Evaluation) -> _Plan:
        """What to say for this evaluation's pattern of leaf results (kept while the
        evaluator keeps the pattern's shape)."""
        shape, results = evaluation.shape, evaluation.results
        why_not: list[tuple[_WhyNotWords | _RuleOnly, int]] = []
        for rule_index, first in shape.why_not:
            if first is None:
                why_not.append(
                    (_RuleOnly(self.rule_refs[rule_index], self.rule_names[rule_index]), -1)
                )
            else:
                leaf, negated = first
                # A why-not condition is unmet by construction; a gap is said only then.
                unmet = results[leaf] == negated
                threshold = evaluation.evaluator.leaves[leaf].threshold
                words = self._why_not_words(rule_index, leaf, negated, unmet, threshold)
                why_not.append((words, leaf))
        matched = shape.matched
        plan = _Plan(
            tuple((leaf, results[leaf]) for i in matched for leaf in self.rule_leaves[i]),
            tuple(why_not),
            self.rule_refs[matched[0]] if matched else None,
        )
        if evaluation.results in evaluation.evaluator.shapes:
            self.plans[evaluation.results] = plan
        return plan

    def _why_not_words(
        self, rule_index: int, leaf: int, negated: bool, unmet: bool, threshold: object
    ) -> _WhyNotWords:
        name, words, en = self.rule_names[rule_index], self.leaves[leaf], self.en
        op = words.effective_op[negated]
        head = f"{name}: " if en else f"{name}:"
        endings = (
            (" not met", " not met, short by ", " not met, over by ", " not met, off by ")
            if en
            else (" 不满足", " 不满足,还差 ", " 不满足,超出 ", " 不满足,相差 ")
        )
        rule = self.rule_refs[rule_index]
        return _WhyNotWords(
            rule["key"], rule["name"], words.field, words.label, op, words.threshold, negated,
            unmet, f"{head}{words.label} has no data" if en else f"{head}{words.label} 无数据",
            gap_function(op, threshold), words.format, head, *endings, " days" if en else " 天",
        )  # fmt: skip


class _Values:
    """One evaluation's actual values as said and as JSON, each worked out once however
    many conditions on the same field mention it."""

    __slots__ = ("_actuals", "_json", "_leaves", "_slots", "_texts", "evaluation", "phrases")

    def __init__(self, evaluation: Evaluation, words: _Words) -> None:
        self.evaluation = evaluation
        self._actuals = evaluation.actuals
        self._slots = evaluation.evaluator.slots
        self._leaves = words.leaves
        fields = len(evaluation.evaluator.keys)
        self._texts: list[str | None] = [None] * fields
        self._json: list[object] = [_UNSET] * fields
        # a leaf's condition as said (key `leaf`, or `-leaf - 1` under a `not`)
        self.phrases: dict[int, str] = {}

    def text(self, leaf: int) -> str:
        slot = self._slots[leaf]
        said = self._texts[slot]
        if said is None:
            said = self._texts[slot] = self._leaves[leaf].format(self._actuals[leaf])
        return said

    def json(self, leaf: int) -> object:
        slot = self._slots[leaf]
        value = self._json[slot]
        if value is _UNSET:
            value = jsonable(self._actuals[leaf])
            if type(value) is not list:  # a list is handed out afresh each time
                self._json[slot] = value
        return value


_UNSET: Final = object()


@dataclass(frozen=True, slots=True)
class _WhyNotWords:
    """The fixed parts of a why-not entry (a rule, its first failing leaf, under a `not`
    or not): its fields and the words around the actual value and the gap."""

    rule_key: str | None
    rule_name: str | None
    field: str
    label: str
    op: str
    threshold: object  # as in JSON
    negated: bool
    unmet: bool
    no_data: str
    gap: GapFunction
    format: Callable[[object], str]
    head: str  # "核心客户:"
    unmet_text: str
    short_by: str
    over_by: str
    off_by: str
    days: str

    def render(self, words: _Words, values: _Values, leaf: int) -> dict[str, object]:
        evaluation = values.evaluation
        actual = evaluation.actuals[leaf]
        missed = None
        if actual is None:
            text = self.no_data
        else:
            if self.unmet:
                missed = self.gap(actual, evaluation.as_of)
            # (said once here: a why-not condition is seldom said anywhere else)
            condition = self.head + words.leaves[leaf].say(self.negated, values.text(leaf))
            if missed is None:
                text = f"{condition}{self.unmet_text}"
            elif isinstance(actual, date):
                text = f"{condition}{self.off_by}{missed[0]}{self.days}"
            else:
                how = self.short_by if missed[1] == "raise" else self.over_by
                text = f"{condition}{how}{self.format(missed[0])}"
        threshold = self.threshold
        return {
            "rule": {"key": self.rule_key, "name": self.rule_name},
            "field": self.field,
            "label": self.label,
            "op": self.op,
            "threshold": list(threshold) if type(threshold) is list else threshold,
            "actual": values.json(leaf),
            "gap": None if missed is None else jsonable(missed[0]),
            "text": text,
        }


@dataclass(frozen=True, slots=True)
class _RuleOnly:
    """A why-not entry for a rule without conditions to name."""

    rule: dict[str, str | None]
    text: str

    def render(self, words: _Words, values: _Values, leaf: int) -> dict[str, object]:
        return {"rule": dict(self.rule), "text": self.text}


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a rationale says for one pattern of leaf results, but for the values (the
    matched rules and their deciding leaves are the evaluation's shape)."""

    conditions: tuple[tuple[int, bool], ...]  # (leaf, passed) of the matched rules' leaves
    why_not: tuple[tuple[_WhyNotWords | _RuleOnly, int], ...]
    rule: dict[str, str | None] | None


def jsonable(value: object) -> object:
    """A value for a JSON response: Decimal as a string (exact), dates ISO, tuples as lists."""
    kind = type(value)
    if kind is int or kind is str or value is None:
        return value
    if isinstance(value, Decimal):
        return _plain(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    return value
