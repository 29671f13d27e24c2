"""Every list takes its cursor through one decoder: a bad cursor, whatever is wrong with
it and whichever list it is sent to, is the same 422 problem — "无效的游标", or "invalid
cursor" by Accept-Language — with its `instance`, never a codec's message."""

import base64
import contextlib
import json
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.pagination import CURSOR_PATTERN, InvalidCursor, decode_cursor, encode_cursor
from app.runs.results import _cursor, _encode
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# Wrong shape (refused by the pattern), not base64 of JSON, JSON but not a list.
MALFORMED = ["not a cursor!", "Zm9v", _b64({"a": 1})]


def _value(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    if schema.get("type") == "integer":
        return 1
    return "x"


def _list_operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """GET operations that take a `cursor`, with a path and required query filled in."""
    shared = spec["components"].get("parameters", {})
    found = []
    for path, item in spec["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        parameters = [
            shared[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
            for p in operation.get("parameters", [])
        ]
        if not any(p["name"] == "cursor" and p["in"] == "query" for p in parameters):
            continue
        query = {}
        for parameter in parameters:
            value = _value(parameter.get("schema", {}), spec)
            if parameter["in"] == "path":
                path = path.replace("{" + parameter["name"] + "}", str(value))
            elif parameter["in"] == "query" and parameter.get("required"):
                query[parameter["name"]] = value
        found.append((path, query))
    return found


def assert_invalid_cursor(response: httpx.Response, message: str) -> None:
    body = assert_problem(response, 422)
    assert body["detail"] == message, response.text
    assert body["instance"] == response.request.url.path
    assert body["errors"] == [
        {"loc": ["query", "cursor"], "msg": message, "type": "cursor_invalid"}
    ]


async def test_every_list_answers_a_malformed_cursor_the_same_way(
    app: Any, client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    spec = app.openapi()
    operations = _list_operations(spec)
    pages = [
        path
        for path, item in spec["paths"].items()
        if "Page" in json.dumps(item.get("get", {}).get("responses", {}).get("200", {}))
    ]
    assert len(operations) == len(pages) >= 16, "every list (a *Page answer) takes a cursor"
    for path, query in operations:
        for cursor in MALFORMED:
            zh = await client.get(
                path, params={**query, "cursor": cursor}, headers=tenant.headers()
            )
            assert_invalid_cursor(zh, "无效的游标")
        en = await client.get(
            path,
            params={**query, "cursor": MALFORMED[1]},
            headers=tenant.headers(**{"Accept-Language": "en"}),
        )
        assert_invalid_cursor(en, "invalid cursor")


@pytest.mark.parametrize(
    "path",
    ["/api/v1/api-keys", "/api/v1/customers", "/api/v1/data-quality/duplicates"],
)
async def test_a_well_formed_cursor_of_another_list_is_refused_the_same_way(
    client: httpx.AsyncClient, tenant: TenantKeys, path: str
) -> None:
    # Lists of the wrong length and values of the wrong type, as another list would write.
    for values in ([], ["x"], ["2024-01-01", "not-a-uuid"], ["uscc", 5], [1, 2, 3]):
        response = await client.get(
            path, params={"cursor": encode_cursor(values)}, headers=tenant.headers()
        )
        assert_invalid_cursor(response, "无效的游标")


@given(st.lists(st.one_of(st.text(), st.integers(), st.booleans(), st.none()), max_size=5))
def test_a_cursor_decodes_to_the_values_it_was_made_of(values: list[Any]) -> None:
    assert decode_cursor(encode_cursor(values)) == values


@given(st.one_of(st.text(max_size=600), st.from_regex(CURSOR_PATTERN, fullmatch=True)))
def test_any_other_text_is_a_list_or_an_invalid_cursor(text: str) -> None:
    with contextlib.suppress(InvalidCursor):
        assert isinstance(decode_cursor(text), list)


@given(st.uuids(), st.integers(min_value=0, max_value=10_000))
def test_run_result_cursors_round_trip(customer: uuid.UUID, position: int) -> None:
    assert _cursor(_encode(customer, position)) == (customer, position)


@given(st.lists(st.one_of(st.text(), st.integers(), st.booleans(), st.none()), max_size=3))
def test_run_result_cursors_of_another_shape_are_invalid(values: list[Any]) -> None:
    try:
        customer, position = _cursor(encode_cursor(values)) or (None, None)
    except InvalidCursor:
        return
    assert values == [str(customer), position]
