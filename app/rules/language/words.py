"""Every word of a rationale (分类依据说明), one table per locale, and how values are said.

`explain.py` takes all its text from here: the tables' templates and `value_formatter`,
the one way a value (a customer's, a threshold, a gap) is put into words. A template
names its holes in braces:

- units: how a number of the unit is written, from `{number}` (as stored, "12", "0.5"),
  `{wan}` (an amount in 万 to the cent, "65.00") or `{yuan}` (an amount to the cent with
  thousands separators, "650,000.00");
- conditions, one per operator: `{label}` the field, `{actual}` the customer's value,
  `{threshold}` the rule's value (`{low}` and `{high}` of a range, `{days}` of a window);
- sentences: `{rule}` a rule's name (its key when it has none), `{text}` what is said of
  it, `{condition}` a condition as above, `{gap}` by how much the condition was missed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from app.catalog import FieldDef, FieldUnit
from app.core.i18n import Locale


@dataclass(frozen=True, slots=True)
class Words:
    """The words of a rationale in one locale."""

    # a customer's or a rule's value
    no_data: str
    yes: str
    no: str
    list_separator: str
    units: Mapping[FieldUnit | None, str]
    # a condition, by operator (`not_between` and `not_contains` say a `not` around a leaf)
    conditions: Mapping[str, str]
    # the sentence: the deciding conditions of each matched rule
    conditions_separator: str
    rules_separator: str
    of_rule: str  # a rule named before what is said of it (several matched; why-not)
    no_match: str
    # why a rule did not match: its first failing condition
    no_data_for: str
    not_met: str
    short_by: str  # the value has to go up
    over_by: str  # the value has to go down
    off_by_days: str  # a date, by so many days
    # why a result moved between two runs: each condition that flipped, then the move
    moved_value: str  # `{label} {before} → {after}` and where the new value stands
    reaches: str  # ≥ the threshold (a gte that holds, a lt that fails)
    below: str  # < the threshold
    above: str  # > the threshold
    not_above: str  # ≤ the threshold
    now_holds: str  # any other condition that came to hold (`{condition}`)
    no_longer_holds: str  # … or stopped holding
    moved_category: str  # `{old}` → `{new}`
    rules_changed: str  # the ruleset version changed between the runs
    reasons_separator: str


ZH_CN: Final = Words(
    no_data="无数据",
    yes="是",
    no="否",
    list_separator="、",
    units={
        None: "{number}",
        "CNY": "{wan}万元",
        "count": "{number} 次",
        "days": "{number} 天",
        "months": "{number} 个月",
        "employees": "{number} 人",
    },
    conditions={
        "eq": "{label} {actual} = {threshold}",
        "ne": "{label} {actual} ≠ {threshold}",
        "gt": "{label} {actual} > {threshold}",
        "gte": "{label} {actual} ≥ {threshold}",
        "lt": "{label} {actual} < {threshold}",
        "lte": "{label} {actual} ≤ {threshold}",
        "between": "{label} {actual} 在 {low} 至 {high} 之间",
        "not_between": "{label} {actual} 不在 {low} 至 {high} 之间",
        "in": "{label} {actual} 属于 {threshold}",
        "not_in": "{label} {actual} 不属于 {threshold}",
        "contains": "{label} {actual} 包含 {threshold}",
        "not_contains": "{label} {actual} 不包含 {threshold}",
        "within_last_days": "{label} {actual} 在近 {days} 天内",
        "not_within_last_days": "{label} {actual} 不在近 {days} 天内",
        "is_null": "{label} 为空",
        "is_not_null": "{label} {actual} 非空",
    },
    conditions_separator=";",
    rules_separator=" / ",
    of_rule="{rule}:{text}",
    no_match="未命中任何规则,归入默认分类",
    no_data_for="{label} 无数据",
    not_met="{condition} 不满足",
    short_by="{condition} 不满足,还差 {gap}",
    over_by="{condition} 不满足,超出 {gap}",
    off_by_days="{condition} 不满足,相差 {gap} 天",
    moved_value="{label} {before} → {after},{state}",
    reaches="达到 {threshold}",
    below="低于 {threshold}",
    above="高于 {threshold}",
    not_above="不超过 {threshold}",
    now_holds="{condition} 成立",
    no_longer_holds="{condition} 不再成立",
    moved_category="由 {old} 调整为 {new}",
    rules_changed="规则集由 v{old} 改为 v{new}",
    reasons_separator=";",
)

EN: Final = Words(
    no_data="no data",
    yes="yes",
    no="no",
    list_separator=", ",
    units={
        None: "{number}",
        "CNY": "CNY {yuan}",
        "count": "{number}",
        "days": "{number} days",
        "months": "{number} months",
        "employees": "{number} employees",
    },
    conditions={
        "eq": "{label} {actual} = {threshold}",
        "ne": "{label} {actual} ≠ {threshold}",
        "gt": "{label} {actual} > {threshold}",
        "gte": "{label} {actual} ≥ {threshold}",
        "lt": "{label} {actual} < {threshold}",
        "lte": "{label} {actual} ≤ {threshold}",
        "between": "{label} {actual} between {low} and {high}",
        "not_between": "{label} {actual} not between {low} and {high}",
        "in": "{label} {actual} in {threshold}",
        "not_in": "{label} {actual} not in {threshold}",
        "contains": "{label} {actual} contains {threshold}",
        "not_contains": "{label} {actual} does not contain {threshold}",
        "within_last_days": "{label} {actual} within last {days} days",
        "not_within_last_days": "{label} {actual} not within last {days} days",
        "is_null": "{label} is empty",
        "is_not_null": "{label} {actual} is not empty",
    },
    conditions_separator="; ",
    rules_separator=" / ",
    of_rule="{rule}: {text}",
    no_match="No rule matched; default category",
    no_data_for="{label} has no data",
    not_met="{condition} not met",
    short_by="{condition} not met, short by {gap}",
    over_by="{condition} not met, over by {gap}",
    off_by_days="{condition} not met, off by {gap} days",
    moved_value="{label} {before} → {after}, {state}",
    reaches="reaching {threshold}",
    below="below {threshold}",
    above="above {threshold}",
    not_above="not above {threshold}",
    now_holds="{condition} now holds",
    no_longer_holds="{condition} no longer holds",
    moved_category="moved from {old} to {new}",
    rules_changed="ruleset changed from v{old} to v{new}",
    reasons_separator="; ",
)


def words_for(locale: Locale) -> Words:
    """The table for `locale`: English for "en", Chinese otherwise."""
    return EN if locale == "en" else ZH_CN


def format_value(definition: FieldDef | None, value: object, locale: Locale = "zh-CN") -> str:
    """A value with its unit as people read it ("65.00万元", "12 次", "CNY 650,000.00")."""
    return value_formatter(definition, locale)(value)


def value_formatter(definition: FieldDef | None, locale: Locale) -> Callable[[object], str]:
    """`format_value` for one field and locale, its unit's words looked up once."""
    words = words_for(locale)
    units = words.units
    template = units.get(definition.unit if definition else None, units[None])
    hole = next(hole for hole in _NUMBERS if f"{{{hole}}}" in template)
    before, after = split_template(template, hole)
    number = _NUMBERS[hole]

    def said(value: object) -> str:
        kind = type(value)
        if kind is Decimal or kind is int:  # the common case first (bool's type is not int)
            # (mypy does not narrow on type(): it is an int or a Decimal)
            return f"{before}{number(value)}{after}"  # type: ignore[arg-type]
        if value is None:
            return words.no_data
        if isinstance(value, tuple | list):
            return words.list_separator.join([said(v) for v in value])
        if isinstance(value, bool):
            return words.yes if value else words.no
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, int | Decimal):
            return f"{before}{number(value)}{after}"
        return str(value)

    return said


def plain_number(value: int | Decimal) -> str:
    """A number in plain notation, never scientific (Decimal "1E+2" is "100")."""
    said = str(value)  # plain for the usual exponents, and cheaper than format(…, "f")
    return format(value, "f") if "E" in said else said


_CENT: Final = Decimal("0.01")
_WAN: Final = Decimal(10_000)


def _in_wan(value: int | Decimal) -> str:
    # str() of a Decimal quantized to cents is plain notation, and cheaper than format().
    return str((value / _WAN).quantize(_CENT, ROUND_HALF_UP))


def _in_yuan(value: int | Decimal) -> str:
    return f"{Decimal(value).quantize(_CENT, ROUND_HALF_UP):,}"


# How the number in each unit's words is written, by the name of its hole.
_NUMBERS: Final[dict[str, Callable[[int | Decimal], str]]] = {
    "number": plain_number,
    "wan": _in_wan,
    "yuan": _in_yuan,
}


def split_template(template: str, *holes: str, **fixed: object) -> list[str]:
    """The text of `template` around `holes` (in the order they appear in it), its other
    holes filled in from `fixed`: the words said alike to every customer, around what is
    said per customer. A value in `fixed` is text, never read as a template."""
    pieces = []
    rest = template
    for hole in holes:
        piece, found, rest = rest.partition(f"{{{hole}}}")
        if not found:
            raise ValueError(f"no {{{hole}}} where expected in {template!r}")
        pieces.append(piece)
    pieces.append(rest)
    return [piece.format(**fixed) for piece in pieces]
