"""Population-relative scores (分位数): `ntile(field, k)` and `rank_pct(field)`.

The definitions, shared by both back ends and by the cut points a run stores:

- The population is the customers a run (or a preview) covers that have a value for the
  field. A customer without a value has no score: its leaves are false, like any leaf
  on a null.
- Better is higher for amounts, counts and other numbers, and lower for fields counted
  in days ("days since": the most recent customers are the best).
- For a customer with value v, let c be how many customers of the population are not
  better than v (v itself and every tie included) and n the population's size:
  `ntile(field, k) = ceil(k · c / n)`, from 1 to k. Customers with equal values get the
  same score (ties are never split, unlike SQL's ntile()); the best customer always gets
  k, and when all are equal all get k.
- `rank_pct(field)` is `ntile(field, 100)`, the percentile 1..100. `前 p%` (the top p
  percent: fewer than p % of the population is better) is `rank_pct > 100 − p`, and
  `ntile(field, k) ≥ j` is the top 100·(k − j + 1)/k percent, so `前20%` and
  `ntile(field, 5) >= 5` pick the same customers.
- Cut points: c_j (j = 2..k) is the worst value in the population scoring j or more.
  A value's score is 1 + the number of cut points it reaches (≥ c_j, or ≤ c_j when lower
  is better): for a member of the population exactly its score above, and for any other
  value (a customer reclassified after the run) the group its value falls into. With no
  population there are no cut points and every value scores 1.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, TypeAlias

from app.catalog import FieldDef
from app.rules.language.tree import Leaf, Ruleset, Score, iter_leaves

SCORE_FUNCTIONS: Final = ("ntile", "rank_pct")
RANK_PCT_BUCKETS: Final = 100
MIN_BUCKETS: Final = 2
MAX_BUCKETS: Final = 100
SCOREABLE_TYPES: Final = ("number", "integer")


@dataclass(frozen=True, slots=True, order=True)
class ScoreKey:
    """What a set of cut points is for: a field split into `buckets` groups."""

    field: str
    buckets: int


CutPoints: TypeAlias = Mapping[ScoreKey, tuple[Decimal, ...]]
"""Per field and number of groups, the cut points c_2..c_k (k − 1 values, or none)."""


class MissingCutPoints(LookupError):
    """A score was asked for without the cut points of its field and k."""

    def __init__(self, key: ScoreKey) -> None:
        super().__init__(f"no cut points for {key.field} in {key.buckets} groups")
        self.key = key


def buckets_of(score: Score) -> int:
    """The number of groups of a validated score (100 for rank_pct)."""
    if score.kind == "rank_pct":
        return RANK_PCT_BUCKETS
    assert isinstance(score.k, int)  # validation checked it
    return score.k


def score_key(leaf: Leaf) -> ScoreKey | None:
    """The cut points a validated leaf needs, or None for a plain comparison."""
    return None if leaf.score is None else ScoreKey(leaf.field, buckets_of(leaf.score))


def score_keys(rulesets: Iterable[Ruleset]) -> list[ScoreKey]:
    """Every cut-point key the rulesets' leaves need, sorted."""
    keys = {
        key
        for ruleset in rulesets
        for rule in ruleset.rules
        for leaf in iter_leaves(rule.when)
        if (key := score_key(leaf)) is not None
    }
    return sorted(keys)


def lower_is_better(definition: FieldDef) -> bool:
    """Fields counted in days ("days since …") are better when lower."""
    return definition.unit == "days"


def scoreable(definition: FieldDef) -> bool:
    """Only numbers (amounts, counts, days) have scores."""
    return definition.type in SCOREABLE_TYPES


def score_field(definition: FieldDef, score: Score) -> FieldDef:
    """The score as a field of its own (a whole number without unit), for its threshold
    and its words."""
    if score.kind == "rank_pct":
        key = f"rank_pct({definition.key})"
        zh, en = f"{definition.label_zh}百分位", f"{definition.label_en} percentile"
    else:
        key = f"ntile({definition.key}, {score.k})"
        zh, en = f"{definition.label_zh}{score.k}分位", f"{definition.label_en} {score.k}-tile"
    return FieldDef(key, definition.kind, "integer", None, zh, en)


def bucket_of(not_better: int, population: int, buckets: int) -> int:
    """`ceil(buckets · not_better / population)` in whole numbers (no float rounding)."""
    return (buckets * not_better + population - 1) // population


def cut_points_from(
    worst_by_score: Mapping[int, Decimal], buckets: int, lower_better: bool
) -> tuple[Decimal, ...]:
    """c_2..c_k from each score's worst value in the population (the least, or the
    greatest when lower is better): c_j is the worst value of any score ≥ j. Empty when
    the population is."""
    if not worst_by_score:
        return ()
    cuts: list[Decimal] = []
    worst: Decimal | None = None
    for j in range(buckets, 1, -1):
        value = worst_by_score.get(j)
        if value is not None and (
            worst is None or (value > worst if lower_better else value < worst)
        ):
            worst = value
        # The best customer always scores k, so `worst` is set from j = k on.
        assert worst is not None
        cuts.append(worst)
    cuts.reverse()
    return tuple(cuts)


def population_cut_points(
    values: Iterable[int | Decimal | None], buckets: int, lower_better: bool
) -> tuple[Decimal, ...]:
    """The cut points of a population given as its values (None: no value), computed the
    way the SQL back end computes them (for tests and small populations)."""
    # Ordered worst first: ascending, or by the negated value when lower is better.
    order = sorted(-Decimal(v) if lower_better else Decimal(v) for v in values if v is not None)
    worst: dict[int, Decimal] = {}
    for key in order:
        # Not better than this value: everything up to its last tie.
        score = bucket_of(bisect.bisect_right(order, key), len(order), buckets)
        worst.setdefault(score, -key if lower_better else key)
    return cut_points_from(worst, buckets, lower_better)


class Scorer:
    """A value's score from a set of cut points (for higher or lower is better)."""

    __slots__ = ("_cuts", "_lower_better")

    def __init__(self, cuts: Sequence[Decimal], lower_better: bool) -> None:
        self._lower_better = lower_better
        # Ascending either way: lower-is-better cut points descend, so they are negated.
        self._cuts = [-c for c in cuts] if lower_better else list(cuts)

    def __call__(self, value: int | Decimal) -> int:
        return 1 + bisect.bisect_right(self._cuts, -value if self._lower_better else value)


class Scored(int):
    """A customer's score, carrying the value it was scored from (for the rationale)."""

    value: int | Decimal

    def __new__(cls, score: int, value: int | Decimal) -> Scored:
        made = super().__new__(cls, score)
        made.value = value
        return made


def top_percent(score: int, buckets: int) -> Decimal:
    """The share of the population (in %) that a score's group and the better ones make
    up: a customer scoring s is in the top 100·(k − s + 1)/k percent."""
    return _percent(buckets - score + 1, buckets)


def _percent(groups: int, buckets: int) -> Decimal:
    share = Decimal(100 * groups) / Decimal(buckets)
    return share.quantize(Decimal("0.01")).normalize() if share % 1 else Decimal(int(share))


@dataclass(frozen=True, slots=True)
class Requirement:
    """What a one-sided score condition asks in the field's values: to be in the top
    `percent` % (`inside` True) or not, which is the value `symbol` `cut`
    (≥ / ≤ when lower is better; < / > for not inside). `cut` is None when the group
    boundary is not in the cut points (every value or none qualifies)."""

    percent: Decimal
    inside: bool
    symbol: str
    cut: Decimal | None


def requirement(
    op: str, threshold: object, buckets: int, cuts: Sequence[Decimal], lower_better: bool
) -> Requirement | None:
    """The requirement of `score op threshold`, for gt/gte/lt/lte; None otherwise."""
    if op not in ("gt", "gte", "lt", "lte") or not isinstance(threshold, int):
        return None
    least = threshold + 1 if op in ("gt", "lte") else threshold  # the least score inside
    least = min(max(least, 1), buckets + 1)
    inside = op in ("gt", "gte")
    cut = cuts[least - 2] if 2 <= least <= len(cuts) + 1 else None
    symbols = ("≤", ">") if lower_better else ("≥", "<")
    symbol = symbols[0] if inside else symbols[1]
    return Requirement(_percent(buckets - least + 1, buckets), inside, symbol, cut)


@dataclass(frozen=True, slots=True)
class Scoring:
    """How the back ends score one field in k groups: its cut points, which way is
    better, and the scorer built from them."""

    key: ScoreKey
    cuts: tuple[Decimal, ...]
    lower_better: bool

    @classmethod
    def of(cls, definition: FieldDef, score: Score, cut_points: CutPoints) -> Scoring:
        """The scoring of a validated score leaf; raises MissingCutPoints."""
        key = ScoreKey(definition.key, buckets_of(score))
        cuts = cut_points.get(key)
        if cuts is None:
            raise MissingCutPoints(key)
        return cls(key, tuple(cuts), lower_is_better(definition))

    def scorer(self) -> Scorer:
        return Scorer(self.cuts, self.lower_better)
