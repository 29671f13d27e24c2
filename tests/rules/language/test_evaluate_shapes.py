"""The evaluator works out each pattern of leaf results once (a shape) and renders the
rationale from it. These properties hold the fast path to the plain definitions: a warm
evaluator answers as a cold one does, and the rendered rationale says exactly what the
per-condition outcomes and reasons (the slow, obvious form) say."""

import dataclasses
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.rules.language.evaluate import Evaluation, Evaluator
from app.rules.language.explain import explain, jsonable
from app.rules.language.tree import Ruleset
from tests.rules.language.generators import AS_OF, CATALOG, customer_rows, rulesets

margins = st.sampled_from([Decimal("0"), Decimal("0.05"), Decimal("0.5")])
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _label_en(field: str) -> str:
    """The field's English label, read from the catalog (not from the rationale)."""
    definition = CATALOG.get(field)
    assert definition is not None, field  # the generators draw fields from the catalog
    return definition.label_en


def _facts(e: Evaluation) -> tuple[Any, ...]:
    return (e.categories, e.matched, e.rule_matches, e.borderline, e.conditions, e.reasons,
            e.why_not)  # fmt: skip


@SETTINGS
@given(rulesets(), st.lists(customer_rows(), min_size=1, max_size=12), margins)
def test_a_warm_evaluator_answers_as_a_cold_one(
    ruleset: Ruleset, customers: list[dict[str, Any]], margin: Decimal
) -> None:
    ruleset = dataclasses.replace(ruleset, borderline_margin=margin)
    warm = Evaluator(ruleset, CATALOG)
    for customer in customers:
        cold = Evaluator(ruleset, CATALOG).evaluate(customer, AS_OF)
        again = warm.evaluate(customer, AS_OF)
        assert _facts(again) == _facts(cold)
        for locale in ("zh-CN", "en"):
            assert explain(again, CATALOG, locale) == explain(cold, CATALOG, locale)


@SETTINGS
@given(rulesets(max_rules=3), st.lists(customer_rows(), min_size=1, max_size=12))
def test_past_the_shape_bound_answers_stay_the_same(
    ruleset: Ruleset, customers: list[dict[str, Any]]
) -> None:
    remembers_nothing = Evaluator(ruleset, CATALOG, max_shapes=0)
    for customer in customers:
        expected = Evaluator(ruleset, CATALOG).evaluate(customer, AS_OF)
        assert _facts(remembers_nothing.evaluate(customer, AS_OF)) == _facts(expected)
    assert remembers_nothing.shapes == {}


@SETTINGS
@given(rulesets(), st.lists(customer_rows(), min_size=1, max_size=12), margins)
def test_the_rationale_says_what_the_outcomes_and_reasons_say(
    ruleset: Ruleset, customers: list[dict[str, Any]], margin: Decimal
) -> None:
    ruleset = dataclasses.replace(ruleset, borderline_margin=margin)
    evaluator = Evaluator(ruleset, CATALOG)
    for customer in customers:
        e = evaluator.evaluate(customer, AS_OF)
        r = explain(e, CATALOG, "en").to_dict()
        matched = set(e.matched)
        assert r["conditions"] == [
            {
                "index": o.index, "path": list(o.path), "field": o.field,
                "label": _label_en(o.field),
                "op": o.op, "threshold": jsonable(o.threshold), "actual": jsonable(o.actual),
                "passed": o.passed, "text": c["text"],
            }
            for o, c in zip(
                [o for o in e.conditions if o.rule_index in matched], r["conditions"], strict=True
            )
        ]  # fmt: skip
        assert len(r["why_not"]) == len(e.why_not)
        for said, why in zip(r["why_not"], e.why_not, strict=True):
            assert said["rule"] == {"key": why.rule.key, "name": why.rule.name}
            if why.reason is None:
                assert set(said) == {"rule", "text"}
                continue
            o = why.reason.outcome
            assert (said["field"], said["op"], said["actual"], said["gap"]) == (
                o.field, why.reason.effective_op, jsonable(o.actual), jsonable(why.reason.gap)
            )  # fmt: skip
        assert r["borderline"] is e.borderline
        if not e.matched:
            assert r["rule"] is None
