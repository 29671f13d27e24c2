"""Constraints the spec states are the ones validation holds: whatever breaks a documented
pattern is refused, so generated clients and fuzzers can trust the spec (a value the
pattern allows may still be refused for reasons a pattern cannot say, never the reverse)."""

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import jsonschema
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from app.categories.assignments.schemas import BulkAssign
from app.core.pagination import CURSOR_PATTERN
from app.core.schemas import SERVICE_DAY_PATTERN, DateOrDateTime, IsoDate
from app.fields.schemas import CustomFieldCreate
from app.rules.schemas import BacktestRequest
from app.runs.schemas import RunScope
from app.schedules.cron import InvalidCron, checked_cron
from app.schedules.schemas import ScheduleCreate
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem


def _accepted(adapter: TypeAdapter[Any], value: str) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


def _schema_pattern(schema: dict[str, Any]) -> list[str]:
    return [branch["pattern"] for branch in schema.get("anyOf", [schema])]


days = st.one_of(st.dates().map(str), st.from_regex(r"\A\d{4}-\d{2}-\d{2}\Z"), st.text(max_size=12))


@given(days)
@example("1899-12-31")
@example("2201-01-01")
@example("2200-12-31")
def test_a_day_outside_the_documented_pattern_is_refused(value: str) -> None:
    (pattern,) = _schema_pattern(TypeAdapter(IsoDate).json_schema())
    assert pattern == SERVICE_DAY_PATTERN
    if _accepted(TypeAdapter(IsoDate), value):
        assert re.fullmatch(pattern, value), value


@given(st.one_of(days, st.datetimes().map(lambda d: d.isoformat())))
@example("0999-01-01T00:00:00")
@example("3000-01-01")
def test_an_activity_time_outside_the_documented_years_is_refused(value: str) -> None:
    patterns = _schema_pattern(TypeAdapter(DateOrDateTime).json_schema())
    if _accepted(TypeAdapter(DateOrDateTime), value):
        assert all(re.match(pattern, value) for pattern in patterns), value


def _cron_pattern() -> str:
    return str(ScheduleCreate.model_json_schema()["properties"]["cron"]["pattern"])


@given(
    st.one_of(
        st.text(alphabet=" \t*0123456789,-/@LMONJAN", max_size=20),
        st.lists(st.sampled_from(["*", "0", "9", "1-5", "*/5", "MON"]), max_size=7).map(" ".join),
    )
)
@example("@monthly")
@example("0 9 1 *")
def test_a_cron_outside_the_documented_pattern_is_refused(expression: str) -> None:
    try:
        checked_cron(expression, "Asia/Shanghai", datetime(2026, 12, 1, tzinfo=UTC))
    except InvalidCron:
        return
    assert re.fullmatch(_cron_pattern(), expression), expression


@pytest.mark.parametrize("cursor", ["W10!", "WyJ4Il0=", "a b", "W10/", "ä"])
async def test_a_cursor_outside_the_documented_alphabet_is_a_422(
    client: httpx.AsyncClient, tenant: TenantKeys, cursor: str
) -> None:
    assert not re.fullmatch(CURSOR_PATTERN, cursor)
    response = await client.get(
        "/api/v1/api-keys", params={"cursor": cursor}, headers=tenant.headers()
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["query", "cursor"]


async def test_a_real_cursor_with_a_character_added_is_refused_not_skipped(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    # Base64 decoding used to skip characters outside its alphabet, so a cursor with one
    # added still paged on; the spec's pattern says it is not a cursor.
    first = await client.get("/api/v1/api-keys", params={"limit": 1}, headers=tenant.headers())
    cursor = first.json()["next_cursor"]
    assert cursor
    for forged in (cursor[:2] + "." + cursor[2:], cursor + "~"):
        response = await client.get(
            "/api/v1/api-keys", params={"cursor": forged}, headers=tenant.headers()
        )
        assert_problem(response, 422)


@pytest.mark.parametrize("actor", ["   ", "张伟".encode().decode("latin-1"), "a\x7fb"])
async def test_an_x_actor_outside_the_documented_pattern_is_refused(
    client: httpx.AsyncClient, tenant: TenantKeys, actor: str
) -> None:
    response = await client.get(
        "/api/v1/tenant", headers={**tenant.headers(), "X-Actor": actor.encode("latin-1")}
    )
    assert response.status_code in (403, 422), response.text
    assert (
        await client.get("/api/v1/tenant", headers={**tenant.headers(), "X-Actor": "%E5%BC%A0"})
    ).status_code == 200


_ABSENT = object()
_BODIES: list[tuple[type[BaseModel], dict[str, Any], str, Any, str, Any]] = [
    (
        BulkAssign,
        {"category_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"},
        "customer_ids",
        ["5b0e3f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"],
        "filter",
        "order_amount_12m >= 1",
    ),
    (
        BacktestRequest,
        {},
        "samples",
        [{"customer_code": "C1", "expected": "LOW"}],
        "samples_file",
        {"filename": "样本.csv", "content_base64": "5a6i"},
    ),
    (CustomFieldCreate, {"key": "grade", "label_zh": "等级"}, "type", "enum", "enum_values", ["A"]),
    (CustomFieldCreate, {"key": "grade", "label_zh": "等级"}, "type", "text", "enum_values", ["A"]),
]


@pytest.mark.parametrize(("model", "base", "first", "value1", "second", "value2"), _BODIES)
def test_a_body_the_documented_schema_refuses_is_refused(
    model: type[BaseModel], base: dict[str, Any], first: str, value1: Any, second: str, value2: Any
) -> None:
    # Every combination of the two members being absent, null or given.
    schema = {**model.model_json_schema(ref_template="#/$defs/{model}")}
    for one in (_ABSENT, None, value1):
        for two in (_ABSENT, None, value2):
            body = dict(base)
            if one is not _ABSENT:
                body[first] = one
            if two is not _ABSENT:
                body[second] = two
            documented = jsonschema.Draft202012Validator(schema).is_valid(body)
            try:
                model.model_validate(body)
            except ValidationError:
                continue
            assert documented, f"{model.__name__} accepts {body}, which its schema refuses"


_ABSENT = object()
_SCOPE_MEMBERS = {
    "type": [_ABSENT, "all", "customers", "filter"],
    "customer_ids": [_ABSENT, None, ["0b8e8f4e-5b8e-4c1e-9a55-6f1f0d2b7a10"]],
    "when": [_ABSENT, None, 'region = "华东"'],
}


@given(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in _SCOPE_MEMBERS.items()}))
def test_a_run_scope_is_valid_by_its_schema_exactly_when_validation_takes_it(
    members: dict[str, Any],
) -> None:
    """`customer_ids` goes with type `customers` and `when` with `filter`: the schema says
    so (if/then/else), so generated scopes are not refused for it."""
    scope = {k: v for k, v in members.items() if v is not _ABSENT}
    schema = RunScope.model_json_schema()
    documented = jsonschema.Draft202012Validator(schema).is_valid(scope)
    assert documented == _accepted_model(RunScope, scope), scope


def _accepted_model(model: type[BaseModel], value: dict[str, Any]) -> bool:
    try:
        model.model_validate(value)
    except ValidationError:
        return False
    return True
