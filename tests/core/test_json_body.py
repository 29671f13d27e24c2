"""Every JSON body is read by one guarded reader: nesting, absurd numbers, NaN and
invalid UTF-8 are 422 problems on every route (the import's JSON form included), never
a 500 or FastAPI's English 400."""

import json
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.json_body import MAX_NESTING, nests_deeper_than
from tests.core.test_errors import assert_problem

# Text that looks like JSON structure inside strings: brackets, quotes, backslashes.
tricky_text = st.text(alphabet='[]{}"\\ab', max_size=6)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(tricky_text, children, max_size=3)
    ),
    max_leaves=40,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


@given(json_values, st.integers(min_value=0, max_value=6), st.booleans())
def test_nesting_is_measured_exactly_without_parsing(
    value: Any, limit: int, ascii_only: bool
) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert nests_deeper_than(raw, limit) == (depth(value) > limit)


def test_nesting_at_the_limit_passes_and_one_more_does_not() -> None:
    assert not nests_deeper_than(b"[" * MAX_NESTING + b"]" * MAX_NESTING)
    assert nests_deeper_than(b"[" * (MAX_NESTING + 1) + b"]" * (MAX_NESTING + 1))
    assert not nests_deeper_than(b'["' + b"[" * 10_000 + b'"]')


BAD_BODIES = [
    (b"[" * 10_000 + b"]" * 10_000, "too_deep"),
    (b'{"a": ' * 5_000 + b"1" + b"}" * 5_000, "too_deep"),
    (b'{"code": ' + b"9" * 5_000 + b"}", "number_too_long"),
    (b'{"code": "A', b"\xff\xfe", b'"}', "json_invalid"),
    (b'{"code": NaN}', "json_invalid"),
    (b'{"code": "A",', "json_invalid"),
]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/customers", "/api/v1/imports", "/api/v1/rules/evaluate", "/api/v1/api-keys"],
)
@pytest.mark.parametrize(("parts", "kind"), [(b[:-1], b[-1]) for b in BAD_BODIES])
async def test_an_unreadable_json_body_is_a_422_on_every_route(
    api: httpx.AsyncClient, path: str, parts: tuple[bytes, ...], kind: str
) -> None:
    response = await api.post(
        path, content=b"".join(parts), headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["type"] == kind
    assert body["errors"][0]["loc"][0] == "body"


async def test_invalid_utf8_in_an_import_filename_is_a_422_and_imports_nothing(
    api: httpx.AsyncClient,
) -> None:
    raw = b'{"entity": "customers", "filename": "\xff\xfe.csv", "content_base64": "YQ=="}'
    response = await api.post(
        "/api/v1/imports", content=raw, headers={"content-type": "application/json"}
    )
    assert assert_problem(response, 422)["errors"][0]["type"] == "json_invalid"
    assert (await api.get("/api/v1/imports")).json()["items"] == []


async def test_the_problem_says_where_the_json_breaks_in_the_callers_language(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        "/api/v1/customers",
        content=b'{"code": "A",\n "name": }',
        headers={"content-type": "application/json", "accept-language": "en"},
    )
    body = assert_problem(response, 422)
    assert body["detail"].startswith("Invalid JSON at line 2, column 10")
    assert body["errors"][0]["loc"] == ["body", 23]
