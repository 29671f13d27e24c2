"""The pure parts of threshold suggestions, by property: round numbers between sample
values, candidate cut points, rulesets with thresholds replaced, the array scoring
against the evaluator, and searches that never end below where they started."""

import itertools
import random
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.catalog import BUILTIN_CATALOG
from app.rules.language.evaluate import Evaluator
from app.rules.language.parse_json import ruleset_from_json
from app.rules.language.tree import Leaf, iter_leaves
from app.rules.language.validate import check_ruleset
from app.rules.suggestions.search import descend, exhaustive, search
from app.rules.suggestions.table import Problem, sample_table
from app.rules.suggestions.thresholds import (
    Threshold,
    cut_points,
    leaf_values,
    proposed_body,
    round_between,
    roundness,
    tunable_thresholds,
    with_thresholds,
)

AS_OF = date(2026, 11, 25)
CATEGORIES = ("HIGH", "MEDIUM", "LOW")

steps = st.sampled_from([1, 10_000, Decimal("0.01")])


def _in(value: Decimal | int, low: Decimal, high: Decimal, right_closed: bool) -> bool:
    return low < value <= high if right_closed else low <= value < high


@given(
    low=st.decimals(-(10**9), 10**9, places=2, allow_nan=False, allow_infinity=False),
    units=st.decimals(Decimal("0.01"), 3000, places=2),
    step=steps,
    right_closed=st.booleans(),
)
def test_the_round_number_between_two_values_is_on_the_grid_and_separates_them_when_it_can(
    low: Decimal, units: Decimal, step: int | Decimal, right_closed: bool
) -> None:
    unit = Decimal(step)
    high = low + units * unit
    value = round_between(low, high, step, right_closed)
    assert Decimal(value) % unit == 0, "a multiple of the grid's unit"
    if isinstance(step, int):
        assert isinstance(value, int), "whole units say themselves as integers"
    first = (low // unit) * unit
    inside = [
        first + k * unit
        for k in range(int(units) + 3)
        if _in(first + k * unit, low, high, right_closed)
    ]
    if inside:
        # It separates the two values, and nothing between them is rounder.
        assert _in(value, low, high, right_closed)
        assert roundness(value, step) == max(roundness(m, step) for m in inside)
    else:
        assert abs(Decimal(value) - (low + high) / 2) <= unit / 2


def test_round_numbers_are_the_ones_people_choose() -> None:
    assert round_between(Decimal("4973000.12"), Decimal(5031000), 10_000, True) == 5_000_000
    assert round_between(Decimal(4831000), Decimal(4835000), 10_000, True) == 4_830_000
    assert round_between(950_000, 1_000_000, 10_000, False) == 950_000
    assert round_between(93, 107, 1, True) == 100
    assert round_between(3, 4, 1, True) == 4
    assert round_between(3, 4, 1, False) == 3
    assert round_between(Decimal("0.31"), Decimal("0.37"), Decimal("0.01"), True) == Decimal("0.35")
    assert roundness(100, 1) > roundness(95, 1) > roundness(93, 1) == 1


def _threshold(value: int | Decimal, step: int | Decimal, op: str = "gte") -> Threshold:
    return Threshold(0, 0, "r", (), "order_amount_12m", op, "value", value, step)


@given(
    values=st.lists(st.integers(0, 2_000_000), min_size=1, max_size=60, unique=True),
    current=st.integers(0, 2_000_000),
    op=st.sampled_from(["gt", "gte", "lt", "lte"]),
    limit=st.integers(2, 80),
)
def test_candidates_are_sorted_round_distinct_and_hold_the_current_value(
    values: list[int], current: int, op: str, limit: int
) -> None:
    ordered = sorted(values)
    threshold = _threshold(current, 10_000, op)
    candidates = cut_points(ordered, threshold, limit)
    assert candidates == sorted(set(candidates))
    assert current in candidates
    assert len(candidates) <= limit + 1
    assert all(c % 10_000 == 0 for c in candidates if c != current)
    if len(ordered) - 1 <= limit:
        # Every neighbouring pair of values gets a cut between them whenever the grid
        # has a number there.
        for a, b in itertools.pairwise(ordered):
            inside = [c for c in candidates if _in(c, a, b, threshold.right_closed)]
            grid_fits = any(
                _in(k * 10_000, a, b, threshold.right_closed)
                for k in range(a // 10_000, b // 10_000 + 2)
            )
            assert inside or not grid_fits, (a, b)


# Rulesets over two money fields and a head count, in JSON and text, with betweens.
conditions = st.sampled_from(
    [
        {"field": "order_amount_12m", "op": "gte", "value": 500000},
        {"field": "order_amount_12m", "op": "gt", "value": 300000},
        {"field": "order_amount_6m", "op": "lt", "value": 200000},
        {"field": "order_amount_6m", "op": "between", "value": [100000, 400000]},
        {"field": "employees", "op": "lte", "value": 50},
        {"field": "employees", "op": "gte", "value": 100},
        {"field": "region", "op": "eq", "value": "上海"},
        {"not": {"field": "employees", "op": "gt", "value": 200}},
    ]
)
whens = st.one_of(
    conditions,
    st.lists(conditions, min_size=1, max_size=3).map(lambda items: {"all": items}),
    st.lists(conditions, min_size=1, max_size=3).map(lambda items: {"any": items}),
    st.just("order_amount_12m >= 800000 and employees >= 20"),
)
rulesets = st.builds(
    lambda whens, policy: {
        "hit_policy": policy,
        "default_category": "LOW",
        "rules": [
            {"key": f"r{i}", "category": CATEGORIES[i % 2], "when": when}
            for i, when in enumerate(whens)
        ],
    },
    st.lists(whens, min_size=1, max_size=4),
    st.sampled_from(["first", "collect"]),
)


def _customers(seed: int, count: int) -> tuple[list[dict[str, Any]], list[str]]:
    rng = random.Random(seed)
    rows = [
        {
            "order_amount_12m": rng.choice([None, Decimal(rng.randrange(0, 120)) * 10_000]),
            "order_amount_6m": Decimal(rng.randrange(0, 60_000_000)) / 100,
            "employees": rng.choice([None, *range(1, 300, 7)]),
            "region": rng.choice(["上海", "北京"]),
        }
        for _ in range(count)
    ]
    return rows, [rng.choice(CATEGORIES) for _ in range(count)]


@settings(max_examples=60)
@given(body=rulesets, seed=st.integers(0, 10_000), picks=st.lists(st.integers(0, 10**6)))
def test_array_scores_agree_with_the_evaluator_on_the_ruleset_with_those_thresholds(
    body: dict[str, Any], seed: int, picks: list[int]
) -> None:
    ruleset = check_ruleset(body, BUILTIN_CATALOG, multi_assign=body.get("hit_policy") == "collect")
    evaluator = Evaluator(ruleset, BUILTIN_CATALOG)
    thresholds = tunable_thresholds(evaluator, BUILTIN_CATALOG)
    rows, labels = _customers(seed, 40)
    table = sample_table(
        Evaluator(ruleset, BUILTIN_CATALOG),
        BUILTIN_CATALOG,
        thresholds,
        rows,
        labels,
        CATEGORIES,
        AS_OF,
    )
    problem = Problem(table, np.arange(len(rows)))
    chosen = np.array(
        [
            (picks[i % len(picks)] if picks else 0) % len(c)
            for i, c in enumerate(problem.candidates)
        ],
        dtype=np.int64,
    )
    for slot, (low, high, allowed) in enumerate(problem.pairs):
        del slot
        if not allowed[chosen[low], chosen[high]]:
            chosen[low], chosen[high] = problem.start[low], problem.start[high]
    scores = problem.score(chosen[None, :], range(len(thresholds)))
    moved = with_thresholds(ruleset, leaf_values(thresholds, problem.values(chosen)))
    evaluator = Evaluator(moved, BUILTIN_CATALOG)
    right = 0
    for values, label in zip(rows, labels, strict=True):
        got = evaluator.evaluate(values, AS_OF).categories
        right += label in got
    assert int(scores.correct[0]) == right
    # The body rewritten with those thresholds reads back as that very ruleset.
    rewritten = proposed_body(body, ruleset, moved, BUILTIN_CATALOG)
    assert ruleset_from_json(rewritten, BUILTIN_CATALOG) == moved
    assert [r["key"] for r in rewritten["rules"]] == [r["key"] for r in body["rules"]]


@settings(max_examples=40)
@given(
    body=rulesets,
    seed=st.integers(0, 10_000),
    objective=st.sampled_from(["accuracy", "macro_f1"]),
)
def test_searching_never_ends_below_the_start(
    body: dict[str, Any], seed: int, objective: Any
) -> None:
    ruleset = check_ruleset(body, BUILTIN_CATALOG, multi_assign=body.get("hit_policy") == "collect")
    evaluator = Evaluator(ruleset, BUILTIN_CATALOG)
    thresholds = tunable_thresholds(evaluator, BUILTIN_CATALOG)
    rows, labels = _customers(seed, 30)
    table = sample_table(
        Evaluator(ruleset, BUILTIN_CATALOG),
        BUILTIN_CATALOG,
        thresholds,
        rows,
        labels,
        CATEGORIES,
        AS_OF,
    )
    problem = Problem(table, np.arange(len(rows)))
    start = float(problem.score(problem.start[None, :], ()).of(objective)[0])
    row, score = descend(problem, problem.start, objective, max_sweeps=3)
    assert score >= start
    assert float(problem.score(row[None, :], ()).of(objective)[0]) == score
    found = search(problem, objective)
    assert found.score >= start == found.start_score
    if len(thresholds) <= 3:
        _, best, _ = exhaustive(problem, objective)
        assert found.score >= best


def test_replacing_thresholds_keeps_the_structure() -> None:
    body = {
        "default_category": "LOW",
        "rules": [
            {
                "key": "a",
                "category": "HIGH",
                "when": {
                    "any": [
                        {"field": "order_amount_6m", "op": "between", "value": [1, 9]},
                        {"not": {"field": "employees", "op": "lt", "value": 5}},
                    ]
                },
            }
        ],
    }
    ruleset = check_ruleset(body, BUILTIN_CATALOG, multi_assign=body.get("hit_policy") == "collect")
    evaluator = Evaluator(ruleset, BUILTIN_CATALOG)
    thresholds = tunable_thresholds(evaluator, BUILTIN_CATALOG)
    assert [(t.field, t.bound) for t in thresholds] == [
        ("order_amount_6m", "low"),
        ("order_amount_6m", "high"),
        ("employees", "value"),
    ]
    moved = with_thresholds(ruleset, leaf_values(thresholds, [2, 8, 7]))
    leaves = list(iter_leaves(moved.rules[0].when))
    assert leaves == [
        Leaf("order_amount_6m", "between", (2, 8)),
        Leaf("employees", "lt", 7),
    ]
    assert proposed_body(body, ruleset, moved, BUILTIN_CATALOG)["rules"][0]["when"] == {
        "any": [
            {"field": "order_amount_6m", "op": "between", "value": [2, 8]},
            {"not": {"field": "employees", "op": "lt", "value": 7}},
        ]
    }
