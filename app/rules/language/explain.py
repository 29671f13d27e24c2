"""The rationale of an evaluation in words (分类依据说明), in zh-CN or English.

Money is shown in 万元 with two decimals in Chinese ("65.00万元") and as "CNY 650,000.00"
in English; counts, days, months and employees carry their units. A rationale is built
from the ruleset, the customer's values and as_of alone, so a stored run can rebuild it
exactly instead of storing text for every customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from app.core.i18n import Locale
from app.fields.catalog import BUILTIN_CATALOG, FieldCatalog, FieldDef
from app.rules.language.evaluate import Evaluation, WhyNot
from app.rules.language.outcomes import ConditionOutcome, Reason
from app.rules.language.tree import Rule

_SYMBOLS: Final = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}
_CENT: Final = Decimal("0.01")
_WAN: Final = Decimal(10_000)


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
    words = _Words(catalog, locale, evaluation.as_of)
    rules = evaluation.ruleset.rules
    sentences = [
        words.join(words.condition(reason) for reason in reasons) for reasons in evaluation.reasons
    ]
    if not sentences:
        text = (
            "未命中任何规则,归入默认分类" if locale != "en" else "No rule matched; default category"
        )
    elif len(sentences) == 1:
        text = sentences[0]
    else:
        # collect: several rules matched; say which sentence belongs to which rule.
        text = " / ".join(
            f"{_rule_name(rules[i])}{':' if locale != 'en' else ': '}{s}"
            for i, s in zip(evaluation.matched, sentences, strict=True)
        )
    matched = set(evaluation.matched)
    conditions = [words.outcome(o) for o in evaluation.conditions if o.rule_index in matched]
    rule = evaluation.rule
    return Rationale(
        rule=None if rule is None else {"key": rule.key, "name": rule.name},
        text=text,
        conditions=conditions,
        why_not=[words.why_not(w) for w in evaluation.why_not],
        borderline=evaluation.borderline,
    )


def describe_condition(
    reason: Reason, catalog: FieldCatalog = BUILTIN_CATALOG, locale: Locale = "zh-CN",
    as_of: date | None = None,
) -> str:  # fmt: skip
    """One condition as words: "近12个月交易金额 65.00万元 ≥ 50.00万元"."""
    return _Words(catalog, locale, as_of or date.today()).condition(reason)


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
        return f"{(Decimal(value) / _WAN).quantize(_CENT, ROUND_HALF_UP)}万元"
    number = format(value, "f") if isinstance(value, Decimal) else str(value)
    suffix = {
        "count": ("次", ""),
        "days": ("天", "days"),
        "months": ("个月", "months"),
        "employees": ("人", "employees"),
    }.get(unit or "", ("", ""))[1 if en else 0]
    return f"{number} {suffix}" if suffix else number


def _rule_name(rule: Rule) -> str:
    return rule.name or rule.key


class _Words:
    def __init__(self, catalog: FieldCatalog, locale: Locale, as_of: date) -> None:
        self.catalog = catalog
        self.en = locale == "en"
        self.locale: Locale = locale
        self.as_of = as_of

    def join(self, parts: object) -> str:
        return ("; " if self.en else ";").join(parts)  # type: ignore[arg-type]

    def value(self, field: str, value: object) -> str:
        return format_value(self.catalog.get(field), value, self.locale)

    def label(self, field: str) -> str:
        definition = self.catalog.get(field)
        return definition.label(self.locale) if definition else field

    def condition(self, reason: Reason) -> str:
        return self.phrase(reason.outcome, reason.effective_op)

    def phrase(self, o: ConditionOutcome, op: str) -> str:
        label, actual = self.label(o.field), self.value(o.field, o.actual)
        en, t = self.en, o.threshold
        if op in _SYMBOLS:
            return f"{label} {actual} {_SYMBOLS[op]} {self.value(o.field, t)}"
        if op in ("is_null", "is_not_null"):
            if op == "is_null":
                return f"{label} is empty" if en else f"{label} 为空"
            return f"{label} {actual} is not empty" if en else f"{label} {actual} 非空"
        if op in ("between", "not_between") and isinstance(t, tuple):
            lo, hi = (self.value(o.field, v) for v in t)
            if en:
                return f"{label} {actual} {'not ' if op != 'between' else ''}between {lo} and {hi}"
            return f"{label} {actual} {'不' if op != 'between' else ''}在 {lo} 至 {hi} 之间"
        if op in ("within_last_days", "not_within_last_days"):
            no = op != "within_last_days"
            if en:
                return f"{label} {actual} {'not ' if no else ''}within last {t} days"
            return f"{label} {actual} {'不' if no else ''}在近 {t} 天内"
        listed = self.value(o.field, t)
        words = {
            "in": ("属于", "in"), "not_in": ("不属于", "not in"),
            "contains": ("包含", "contains"), "not_contains": ("不包含", "does not contain"),
        }  # fmt: skip
        word = words.get(op, (op, op))[1 if en else 0]
        return f"{label} {actual} {word} {listed}"

    def outcome(self, o: ConditionOutcome) -> dict[str, object]:
        return {
            "index": o.index,
            "path": list(o.path),
            "field": o.field,
            "label": self.label(o.field),
            "op": o.op,
            "threshold": jsonable(o.threshold),
            "actual": jsonable(o.actual),
            "passed": o.passed,
            "text": self.phrase(o, o.op),
        }

    def why_not(self, item: WhyNot) -> dict[str, object]:
        name = _rule_name(item.rule)
        out: dict[str, object] = {"rule": {"key": item.rule.key, "name": item.rule.name}}
        reason = item.reason
        if reason is None:
            out["text"] = name
            return out
        o = reason.outcome
        out.update(
            field=o.field,
            label=self.label(o.field),
            op=reason.effective_op,
            threshold=jsonable(o.threshold),
            actual=jsonable(o.actual),
            gap=jsonable(reason.gap),
            text=self.why_not_text(name, reason),
        )
        return out

    def why_not_text(self, name: str, reason: Reason) -> str:
        o = reason.outcome
        if o.actual is None:
            return (
                f"{name}: {self.label(o.field)} has no data"
                if self.en
                else (f"{name}:{self.label(o.field)} 无数据")
            )
        condition = self.condition(reason)
        if reason.gap is None:
            return f"{name}: {condition} not met" if self.en else f"{name}:{condition} 不满足"
        if reason.gap_in_days:
            gap = f"{reason.gap} days" if self.en else f"{reason.gap} 天"
            how = ("off by", "相差")
        else:
            gap = self.value(o.field, reason.gap)
            how = ("short by", "还差") if reason.direction == "raise" else ("over by", "超出")
        if self.en:
            return f"{name}: {condition} not met, {how[0]} {gap}"
        return f"{name}:{condition} 不满足,{how[1]} {gap}"


def jsonable(value: object) -> object:
    """A value for a JSON response: Decimal as a string (exact), dates ISO, tuples as lists."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    return value
