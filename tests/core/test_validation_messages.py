"""Validation speaks the caller's language down to each field, and every problem names
its instance (issue 15, item 5): pydantic's "Field required" and "Input should be a
valid UUID" were English in Chinese answers; plain 422s, 404s and 405s had no
`instance`."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core.i18n import current_locale
from app.core.validation_messages import ZH, validation_message
from app.models import Role
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem


def _messages(body: dict[str, Any]) -> dict[tuple[Any, ...], str]:
    return {tuple(error["loc"]): error["msg"] for error in body["errors"]}


async def test_field_messages_are_chinese_by_default_and_english_on_request(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    body = {"name": "华东机电", "unknown": 1, "size": "huge"}
    headers = tenant.headers(Role.ADMIN)
    zh = _messages(
        assert_problem(await client.post("/api/v1/customers", json=body, headers=headers), 422)
    )
    assert zh[("body", "code")] == "缺少必填字段"
    assert zh[("body", "unknown")] == "不允许的字段"
    assert zh[("body", "size")].startswith("应为以下之一:")
    en = _messages(
        assert_problem(
            await client.post(
                "/api/v1/customers", json=body, headers=headers | {"Accept-Language": "en"}
            ),
            422,
        )
    )
    assert en[("body", "code")] == "Field required"
    assert en[("body", "unknown")] == "Extra inputs are not permitted"


async def test_a_bad_path_id_and_a_bad_bulk_item_are_said_in_chinese(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    headers = tenant.headers(Role.ADMIN)
    bad_id = assert_problem(await client.get("/api/v1/customers/not-an-id", headers=headers), 422)
    assert _messages(bad_id)[("path", "customer_id")] == "应为有效的 UUID"
    bulk = await client.post(
        "/api/v1/customers/bulk", json={"items": [{"code": "C1"}]}, headers=headers
    )
    items = assert_problem(bulk, 422)["errors"]  # every item bad: nothing saved
    assert items == [
        {"loc": ["body", "items", 0, "name"], "msg": "缺少必填字段", "type": "missing"}
    ]


async def test_every_problem_names_its_instance(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    answers = {
        "/api/v1/no-such-route": await client.get("/api/v1/no-such-route"),
        "/health/live": await client.delete("/health/live"),
        "/api/v1/api-keys": await client.post(
            "/api/v1/api-keys", json={"name": ""}, headers=tenant.headers()
        ),
    }
    for path, answer in answers.items():
        assert answer.status_code in (404, 405, 422)
        assert answer.json()["instance"] == path


class _Every(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    name: Annotated[str, Field(min_length=2, max_length=4, pattern=r"^[A-Z]+$")]
    count: Annotated[int, Field(ge=1, le=9, multiple_of=1)]
    amount: Annotated[Decimal, Field(max_digits=6, decimal_places=2, gt=0)]
    day: date
    kind: Literal["a", "b"]
    tags: Annotated[list[str], Field(min_length=1, max_length=2)]
    flag: bool


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-100, 100),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.lists(st.text(max_size=3), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@given(st.dictionaries(st.sampled_from([*_Every.model_fields, "other"]), _VALUES))
def test_every_message_is_a_whole_chinese_sentence(data: dict[str, Any]) -> None:
    try:
        _Every.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
    else:
        return
    token = current_locale.set("zh-CN")
    try:
        for error in errors:
            said = validation_message(error)
            assert said
            assert "{" not in said, (error, said)
            if error["type"] in ZH:
                assert not said.isascii(), (error, said)
    finally:
        current_locale.reset(token)


@pytest.mark.parametrize("kind", sorted(ZH))
def test_every_template_is_said_without_its_context(kind: str) -> None:
    token = current_locale.set("zh-CN")
    try:
        said = validation_message({"type": kind, "msg": "English", "ctx": {}})
    finally:
        current_locale.reset(token)
    assert said
    assert "{" not in said
