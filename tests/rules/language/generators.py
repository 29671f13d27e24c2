"""Hypothesis strategies for rule trees and customer rows over a small field set.

Thresholds and values are drawn from the same small pools, so equal values, boundaries
and nulls come up often: that is where two back ends would disagree.
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from app.catalog import FieldCatalog, FieldDef, operators_for
from app.rules.language.tree import All, Condition, Leaf, Not, Rule, Ruleset, Score
from app.rules.language.tree import Any as AnyOf

CUSTOM_FIELDS = (
    FieldDef("attr_vip", "custom", "boolean", None, "VIP客户", "VIP"),
    FieldDef("attr_score", "custom", "number", None, "客户评分", "Score"),
)
CATALOG = FieldCatalog(CUSTOM_FIELDS)

# field key → SQL type of its column in the differential test's table
FIELDS: dict[str, str] = {
    "order_amount_12m": "numeric",
    "avg_order_amount_12m": "numeric",
    "attr_score": "numeric",
    "interactions_6m": "integer",
    "complaints_6m": "integer",
    "days_since_last_order": "integer",
    "last_order_date": "date",
    "last_contact_date": "date",
    "size": "text",
    "stage": "text",
    "industry": "text",
    "region": "text",
    "tags": "text[]",
    "attr_vip": "boolean",
}
CATEGORIES = ("A", "B", "C", "DEFAULT")
AS_OF = date(2024, 6, 30)

_NUMBERS = [Decimal(v) for v in ("0", "0.01", "9.99", "10", "10.00", "10.01", "0.30", "500000")]
numbers = st.one_of(
    st.sampled_from(_NUMBERS),
    st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False),
)
integers = st.integers(min_value=-2, max_value=12)
day_offsets = st.integers(min_value=-3, max_value=40)
dates = day_offsets.map(lambda d: AS_OF - timedelta(days=d))
window_days = st.integers(min_value=0, max_value=40)
_WORDS = ["", "a", "ab", "b", "制造业", "制造业-电子", "服务业-咨询", "重点", "华东"]
strings = st.one_of(st.sampled_from(_WORDS), st.text(alphabet="ab制造业 -", max_size=4))


def _values_for(field: FieldDef) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == "number":
        return numbers
    if kind == "integer":
        return integers
    if kind == "date":
        return dates
    if kind == "enum":
        return st.sampled_from(field.enum_values or ())
    if kind == "boolean":
        return st.booleans()
    return strings


def _threshold_for(field: FieldDef) -> st.SearchStrategy[Any]:
    # Thresholds as a rule author writes them: dates as ISO strings, ints where whole.
    values = _values_for(field)
    if field.type == "date":
        return values.map(lambda d: d.isoformat())
    if field.type == "number":
        return values.map(lambda d: int(d) if d == d.to_integral_value() else d)
    return values


@st.composite
def leaves(draw: st.DrawFn, fields: tuple[str, ...] = tuple(FIELDS)) -> Leaf:
    """A valid leaf on one of `fields`."""
    field = CATALOG.get(draw(st.sampled_from(fields)))
    assert field is not None
    op = draw(st.sampled_from(operators_for(field.type)))
    value = _threshold_for(field)
    if op in ("is_null", "is_not_null"):
        return Leaf(field.key, op, None)
    if op in ("within_last_days", "not_within_last_days"):
        return Leaf(field.key, op, draw(window_days))
    if op == "between":
        pair = [draw(_values_for(field)), draw(_values_for(field))]
        low, high = sorted(pair)
        if field.type == "date":
            return Leaf(field.key, op, (low.isoformat(), high.isoformat()))
        return Leaf(field.key, op, (low, high))
    if op in ("in", "not_in"):
        return Leaf(field.key, op, tuple(draw(st.lists(value, min_size=1, max_size=3))))
    if field.type == "string_list":
        return Leaf(field.key, op, draw(strings))
    return Leaf(field.key, op, draw(value))


def conditions(max_leaves: int = 6) -> st.SearchStrategy[Condition]:
    """Valid condition trees: leaves under all / any / not, groups of 1–3 items."""
    return st.recursive(
        leaves(),
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=3).map(lambda xs: All(tuple(xs))),
            st.lists(inner, min_size=1, max_size=3).map(lambda xs: AnyOf(tuple(xs))),
            inner.map(Not),
        ),
        max_leaves=max_leaves,
    )


@st.composite
def rulesets(draw: st.DrawFn, min_rules: int = 0, max_rules: int = 5) -> Ruleset:
    """Valid rulesets over the test fields and CATEGORIES."""
    count = draw(st.integers(min_value=min_rules, max_value=max_rules))
    rules = tuple(
        Rule(
            key=f"r{i}",
            category=draw(st.sampled_from(CATEGORIES[:3])),
            when=draw(conditions(max_leaves=8)),
            name=draw(st.one_of(st.none(), st.sampled_from(["核心客户", "潜力客户"]))),
            tags=tuple(draw(st.lists(st.sampled_from(["重点维护", "新客"]), max_size=2))),
            next_action=draw(st.one_of(st.none(), st.just("客户成功经理一对一月度跟进"))),
        )
        for i in range(count)
    )
    return Ruleset(
        rules=rules,
        default_category="DEFAULT",
        hit_policy=draw(st.sampled_from(["first", "collect"])),
        borderline_margin=draw(st.sampled_from([Decimal("0.05"), Decimal("0.1"), Decimal(0)])),
    )


@st.composite
def customer_rows(draw: st.DrawFn) -> dict[str, Any]:
    """One customer's values; every field may be null."""
    row: dict[str, Any] = {}
    for key in FIELDS:
        field = CATALOG.get(key)
        assert field is not None
        if field.type == "string_list":
            values: st.SearchStrategy[Any] = st.lists(strings, max_size=3)
        else:
            values = _values_for(field)
        # Null about one time in four: often enough for every operator to meet it.
        row[key] = draw(st.one_of(st.none(), values, values, values))
    return row


SCOREABLE = tuple(k for k, sql_type in FIELDS.items() if sql_type in ("numeric", "integer"))


@st.composite
def scored_leaves(draw: st.DrawFn) -> Leaf:
    """A valid score leaf: ntile(field, k) or rank_pct(field) against values 0..k."""
    field = draw(st.sampled_from(SCOREABLE))
    if draw(st.booleans()):
        score, buckets = Score("rank_pct"), 100
    else:
        buckets = draw(st.sampled_from([2, 3, 4, 5, 10, 100]))
        score = Score("ntile", buckets)
    op = draw(st.sampled_from(operators_for("integer")))
    values = st.integers(min_value=0, max_value=buckets)
    if op in ("is_null", "is_not_null"):
        return Leaf(field, op, None, score=score)
    if op == "between":
        low, high = sorted([draw(values), draw(values)])
        return Leaf(field, op, (low, high), score=score)
    if op in ("in", "not_in"):
        return Leaf(field, op, tuple(draw(st.lists(values, min_size=1, max_size=3))), score=score)
    return Leaf(field, op, draw(values), score=score)


@st.composite
def scored_rulesets(draw: st.DrawFn) -> Ruleset:
    """Valid rulesets whose conditions mix score leaves with plain ones."""
    inner = st.one_of(scored_leaves(), scored_leaves(), leaves())
    when = st.recursive(
        inner,
        lambda kids: st.one_of(
            st.lists(kids, min_size=1, max_size=3).map(lambda xs: All(tuple(xs))),
            st.lists(kids, min_size=1, max_size=3).map(lambda xs: AnyOf(tuple(xs))),
            kids.map(Not),
        ),
        max_leaves=6,
    )
    count = draw(st.integers(min_value=1, max_value=4))
    rules = tuple(
        Rule(key=f"r{i}", category=draw(st.sampled_from(CATEGORIES[:3])), when=draw(when))
        for i in range(count)
    )
    return Ruleset(rules, "DEFAULT", draw(st.sampled_from(["first", "collect"])))
