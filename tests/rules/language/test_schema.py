"""The Rules JSON schema of the OpenAPI document describes what the reader accepts.

`app/rules/language/schema.py` documents the shapes `parse_json.py` reads: every body
the rule language writes (any valid ruleset, its `when`s as JSON or as text) validates
against the schema, and schema-valid bodies read without shape errors.
"""

import json
from typing import Any, get_args

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from app.catalog import OPERATORS
from app.rules.language.parse_json import read_ruleset, ruleset_to_json
from app.rules.language.schema import Operator, RulesetBody
from app.rules.language.tree import Ruleset
from app.rules.language.validate import validate_ruleset
from app.rules.templates import TEMPLATES
from tests.rules.language.generators import CATALOG, rulesets

SCHEMA = TypeAdapter(RulesetBody).json_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


@settings(max_examples=150)
@given(rulesets(), st.sampled_from(["json", "text"]))
def test_every_body_the_language_writes_fits_the_schema(ruleset: Ruleset, style: Any) -> None:
    body = json.loads(json.dumps(ruleset_to_json(ruleset, style)))
    VALIDATOR.validate(body)
    # and the reader takes it without a shape error
    assert read_ruleset(body, CATALOG)[1] == []


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_the_seed_templates_fit_the_schema(key: str) -> None:
    VALIDATOR.validate(TEMPLATES[key]["ruleset"])


@pytest.mark.parametrize(
    "body",
    [
        {"rules": [{"key": "a", "category": "A", "when": {"all": []}}]},
        {"rules": [{"key": "a", "category": "A",
                    "when": {"field": "x", "op": "like", "value": 1}}]},
        {"rules": [{"key": "a", "category": "A", "when": {"all": [], "any": []}}]},
        {"rules": [{"key": "", "category": "A", "when": "x > 1"}]},
        {"rules": [{"key": "a", "category": "A", "when": "x > 1", "colour": "red"}]},
        {"rules": [], "borderline_margin": 1},
        {"rules": [], "hit_policy": "all"},
        {"hit_policy": "first"},
        {"rules": [{"key": "a", "category": "A",
                    "when": {"field": "region", "op": "in", "value": []}}]},
        {"rules": [{"key": "a", "category": "A",
                    "when": {"field": "d", "op": "between", "value": [1]}}]},
        {"rules": [{"key": "a", "category": "A",
                    "when": {"field": "d", "op": "is_null", "value": 3}}]},
    ],
)  # fmt: skip
def test_bodies_the_schema_refuses_the_service_refuses_too(body: dict[str, Any]) -> None:
    assert not VALIDATOR.is_valid(body)
    ruleset, errors = read_ruleset(body, CATALOG)
    if not errors and ruleset is not None:
        errors = validate_ruleset(ruleset, CATALOG)
    assert errors, body


def test_the_operator_enum_is_the_catalogs_operator_list() -> None:
    assert get_args(Operator.__value__) == OPERATORS


@given(
    st.sampled_from([None, "ntile", "rank_pct", "absent"]),
    st.sampled_from([None, 5, "absent"]),
)
def test_a_leaf_scores_by_the_schema_exactly_when_the_reader_takes_it(score: Any, k: Any) -> None:
    """`k` goes with `"score": "ntile"`, which needs it, and only with it."""
    leaf: dict[str, Any] = {"field": "interactions_6m", "op": "gte", "value": 1}
    if score != "absent":
        leaf["score"] = score
    if k != "absent":
        leaf["k"] = k
    body = {"rules": [{"key": "a", "category": "A", "when": leaf}]}
    ruleset, errors = read_ruleset(body, CATALOG)
    if not errors and ruleset is not None:
        errors = validate_ruleset(ruleset, CATALOG)
    assert VALIDATOR.is_valid(body) == (not errors), (leaf, errors)
