"""Scores (ntile, rank_pct, 前 N%): their forms round-trip, their definition holds (ties
included), and what does not fit is refused with a clear message."""

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules.language.errors import RulesetInvalid, RuleSyntaxError
from app.rules.language.parse_json import condition_to_json, ruleset_from_json, ruleset_to_json
from app.rules.language.parse_text import parse_text
from app.rules.language.print_text import print_text
from app.rules.language.quantiles import (
    Scorer,
    bucket_of,
    population_cut_points,
    top_percent,
)
from app.rules.language.tree import Leaf, Ruleset, Score
from app.rules.language.validate import check_condition, check_ruleset, validate_ruleset
from tests.rules.language.generators import CATALOG, CATEGORIES, scored_leaves, scored_rulesets

values = st.lists(
    st.one_of(st.none(), st.integers(min_value=-5, max_value=30).map(Decimal)),
    min_size=1,
    max_size=40,
)
buckets = st.sampled_from([2, 3, 4, 5, 7, 10, 100])


def _scores(population: list[Decimal | None], k: int, lower_better: bool) -> list[int | None]:
    """The definition, literally: ceil(k · not-better / n) over the values present."""
    present = [v for v in population if v is not None]
    out: list[int | None] = []
    for v in population:
        if v is None:
            out.append(None)
            continue
        not_better = sum(1 for u in present if (u >= v if lower_better else u <= v))
        out.append(bucket_of(not_better, len(present), k))
    return out


@settings(max_examples=200)
@given(scored_rulesets())
def test_scored_rules_print_and_parse_back_to_the_same_tree(ruleset: Ruleset) -> None:
    for rule in ruleset.rules:
        assert parse_text(print_text(rule.when), CATALOG) == rule.when
        assert parse_text(print_text(rule.when, CATALOG), CATALOG) == rule.when


@settings(max_examples=150)
@given(scored_rulesets())
def test_scored_rules_go_through_json_and_back_unchanged_and_valid(ruleset: Ruleset) -> None:
    wire = json.loads(json.dumps(ruleset_to_json(ruleset), ensure_ascii=False))
    parsed = ruleset_from_json(wire, CATALOG)
    assert parsed == ruleset
    assert ruleset_to_json(parsed) == wire
    assert validate_ruleset(parsed, CATALOG, CATEGORIES, multi_assign=True) == []


@given(scored_leaves())
def test_a_score_leaf_says_its_score_in_json(leaf: Leaf) -> None:
    out = condition_to_json(leaf)
    assert leaf.score is not None
    assert out["score"] == leaf.score.kind
    assert ("k" in out) is (leaf.score.kind == "ntile")


@given(st.integers(min_value=1, max_value=100))
def test_top_n_percent_is_rank_pct_above_100_minus_n(n: int) -> None:
    leaf = parse_text(f"近12个月订单金额 前{n}%", CATALOG)
    assert leaf == Leaf("order_amount_12m", "gt", 100 - n, score=Score("rank_pct"))
    assert parse_text(f"order_amount_12m 前 {n}％", CATALOG) == leaf


@settings(max_examples=300)
@given(values, buckets, st.booleans())
def test_cut_points_give_every_member_its_defined_score(
    population: list[Decimal | None], k: int, lower_better: bool
) -> None:
    scorer = Scorer(population_cut_points(population, k, lower_better), lower_better)
    expected = _scores(population, k, lower_better)
    assert [None if v is None else scorer(v) for v in population] == expected


@settings(max_examples=300)
@given(values, st.integers(min_value=1, max_value=100))
def test_the_top_n_percent_are_those_with_fewer_than_n_percent_better(
    population: list[Decimal | None], n: int
) -> None:
    present = [v for v in population if v is not None]
    ranks = _scores(population, 100, False)
    for v, rank in zip(population, ranks, strict=True):
        if v is None:
            continue
        better = sum(1 for u in present if u > v)
        assert (rank is not None and rank > 100 - n) is (100 * better < n * len(present))
        # and the standing the rationale says is the tightest such share
        assert rank is not None
        assert 100 * better < top_percent(rank, 100) * len(present)


@settings(max_examples=200)
@given(values)
def test_top_20_percent_and_the_fifth_quintile_are_the_same_customers(
    population: list[Decimal | None],
) -> None:
    quintiles = _scores(population, 5, False)
    ranks = _scores(population, 100, False)
    for quintile, rank in zip(quintiles, ranks, strict=True):
        assert (quintile == 5) is (rank is not None and rank > 80)


def test_customers_with_equal_values_get_the_same_score() -> None:
    population = [Decimal(v) for v in (10, 20, 20, 20, 30, 40, 50, 50, 60, 70)]
    scores = _scores(list(population), 5, False)
    assert scores[1] == scores[2] == scores[3] == 2
    assert scores[6] == scores[7] == 4
    scorer = Scorer(population_cut_points(population, 5, False), False)
    assert [scorer(v) for v in population] == scores


def test_when_every_value_is_equal_everyone_gets_the_best_score() -> None:
    population = [Decimal(7)] * 6
    cuts = population_cut_points(population, 5, False)
    assert cuts == (Decimal(7),) * 4
    assert {Scorer(cuts, False)(v) for v in population} == {5}
    assert Scorer(cuts, False)(Decimal(6)) == 1  # a lower value after the run


def test_for_days_since_the_most_recent_are_best() -> None:
    days = [Decimal(v) for v in (1, 5, 30, 90, 400)]
    scores = _scores(list(days), 5, True)
    assert scores == [5, 4, 3, 2, 1]
    assert Scorer(population_cut_points(days, 5, True), True)(Decimal(3)) == 4


def test_an_empty_population_scores_every_value_1() -> None:
    assert population_cut_points([None, None], 5, False) == ()
    assert Scorer((), False)(Decimal(100)) == 1


def _errors(body: object) -> list[dict[str, object]]:
    with pytest.raises(RulesetInvalid) as caught:
        check_ruleset(body, CATALOG, CATEGORIES)
    return [error.to_dict("zh-CN") for error in caught.value.errors]


def _one_rule(when: object) -> dict[str, object]:
    return {"default_category": "DEFAULT", "rules": [{"key": "r", "category": "A", "when": when}]}


def test_a_score_of_a_text_field_is_refused_naming_the_field_and_its_type() -> None:
    (error,) = _errors(_one_rule({"field": "region", "score": "rank_pct", "op": "gt", "value": 80}))
    assert error["type"] == "score_field"
    assert error["loc"] == ["rules", 0, "when", "field"]
    assert "所在地区" in str(error["msg_zh"])
    assert "只适用于数值字段" in str(error["msg_zh"])
    assert "numeric fields" in str(error["msg_en"])


@pytest.mark.parametrize("k", [1, 101, "5", 2.5, True])
def test_ntile_k_must_be_a_whole_number_from_2_to_100(k: object) -> None:
    leaf = {"field": "order_amount_12m", "score": "ntile", "k": k, "op": "gte", "value": 1}
    (error,) = _errors(_one_rule(leaf))
    assert error["type"] == "ntile_k"
    assert error["loc"] == ["rules", 0, "when", "k"]
    assert "2 到 100" in str(error["msg_zh"])


def test_score_shapes_are_checked_in_json() -> None:
    leaf = {"field": "order_amount_12m", "op": "gte", "value": 1}
    kinds = [
        error["type"]
        for error in _errors(
            {
                "rules": [
                    {"key": "a", "category": "A", "when": {**leaf, "score": "median"}},
                    {"key": "b", "category": "A", "when": {**leaf, "score": "ntile"}},
                    {"key": "c", "category": "A", "when": {**leaf, "score": "rank_pct", "k": 5}},
                    {"key": "d", "category": "A", "when": {**leaf, "k": 5}},
                ],
                "default_category": "DEFAULT",
            }
        )
    ]
    assert kinds == ["score_kind", "missing", "k_not_allowed", "k_without_score"]


def test_a_score_value_beyond_its_groups_is_refused() -> None:
    (error,) = _errors(_one_rule("ntile(order_amount_12m, 5) >= 6"))
    assert error["type"] == "score_range"
    assert "0 到 5" in str(error["msg_zh"])


@pytest.mark.parametrize("text", ["order_amount_12m 前0%", "order_amount_12m 前12.5%"])
def test_top_n_percent_needs_a_whole_percent_from_1_to_100(text: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_text(text, CATALOG)
    assert "1 到 100" in caught.value.text.zh


def test_a_standalone_condition_cannot_rank_customers() -> None:
    with pytest.raises(RulesetInvalid) as caught:
        check_condition("近12个月订单金额 前20%", CATALOG)
    (error,) = caught.value.errors
    assert error.type == "score_not_allowed"
    assert "只能用于规则集" in error.text.zh
