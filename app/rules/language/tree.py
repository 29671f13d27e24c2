"""The one tree type of the rule language; every front and back end works on it.

Values are kept as the rule author wrote them (int, Decimal, str, bool, None, tuples for
lists), not converted to the field's type: conversion needs the field catalog and
belongs to validation and the back ends (see `values.py`). That keeps JSON → tree → JSON
exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field  # `field` is a member of Leaf
from decimal import Decimal
from typing import Final, Literal, TypeAlias

Scalar: TypeAlias = int | Decimal | str | bool
# Lists nest only in invalid input; validation reports them, the tree just holds them.
Value: TypeAlias = Scalar | tuple["Value", ...] | None
Loc: TypeAlias = tuple[str | int, ...]
HitPolicy: TypeAlias = Literal["first", "collect"]
ScoreKind: TypeAlias = Literal["ntile", "rank_pct"]

DEFAULT_BORDERLINE_MARGIN: Final = Decimal("0.05")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a node came from, for error messages; never part of equality.

    `loc` is the JSON path of the node in the submitted body. For a node parsed from a
    text expression, `loc` is the path of that string and `line`/`column` point into it.
    """

    loc: Loc
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """A population-relative score of a field (`quantiles.py`): `ntile(field, k)`, the
    customer's group 1..k (k best), or `rank_pct(field)`, its percentile 1..100.

    `k` is kept as written (validation checks it); None for rank_pct, whose k is 100.
    """

    kind: ScoreKind
    k: Value = None


@dataclass(frozen=True, slots=True)
class Leaf:
    """One comparison: `field op value`, or `score(field) op value` with a score."""

    field: str
    op: str
    value: Value = None
    origin: Origin | None = dataclass_field(default=None, compare=False, repr=False)
    score: Score | None = None


@dataclass(frozen=True, slots=True)
class All:
    """True when every item is true."""

    items: tuple[Condition, ...]
    origin: Origin | None = dataclass_field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Any:
    """True when at least one item is true."""

    items: tuple[Condition, ...]
    origin: Origin | None = dataclass_field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Not:
    """Plain negation of its item (two-valued: a leaf on a null field is false first)."""

    item: Condition
    origin: Origin | None = dataclass_field(default=None, compare=False, repr=False)


Condition: TypeAlias = All | Any | Not | Leaf


@dataclass(frozen=True, slots=True)
class Rule:
    """A named condition that puts a customer into `category`.

    `when_text` remembers a condition submitted as text so it is serialised back the
    way it came; it does not take part in equality.
    """

    key: str
    category: str
    when: Condition
    name: str | None = None
    tags: tuple[str, ...] = ()
    next_action: str | None = None
    when_text: str | None = dataclass_field(default=None, compare=False, repr=False)
    origin: Origin | None = dataclass_field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Ruleset:
    """The body of one ruleset version."""

    rules: tuple[Rule, ...]
    default_category: str = "DEFAULT"
    hit_policy: HitPolicy = "first"
    borderline_margin: Decimal = DEFAULT_BORDERLINE_MARGIN


def children(node: Condition) -> tuple[Condition, ...]:
    """The direct sub-conditions of `node`."""
    if isinstance(node, All | Any):
        return node.items
    if isinstance(node, Not):
        return (node.item,)
    return ()


def iter_leaves(node: Condition) -> Iterator[Leaf]:
    """The leaves of `node` in document order (the order of per-condition outcomes)."""
    # An explicit stack: trees are depth-limited, but code walking them should not rely
    # on the limit having been checked.
    stack: list[Condition] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Leaf):
            yield current
        else:
            stack.extend(reversed(children(current)))


def ruleset_leaves(ruleset: Ruleset) -> list[tuple[int, Leaf]]:
    """Every leaf of every rule as (rule index, leaf), numbered as the back ends number them."""
    return [(i, leaf) for i, rule in enumerate(ruleset.rules) for leaf in iter_leaves(rule.when)]


def depth(node: Condition) -> int:
    """Nesting depth: a lone leaf is 1."""
    deepest = 0
    stack: list[tuple[Condition, int]] = [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(current))
    return deepest
