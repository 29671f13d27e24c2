"""Localised answers say their language and that they vary by Accept-Language (issue
15, item 5): the API's answers and every problem carry `Content-Language` (zh-CN unless
English is asked for) and `Accept-Language` among `Vary`'s names, beside CORS's `Origin`."""

import httpx
import pytest

from app.core.db import Database
from app.core.settings import Settings
from app.main import create_app
from app.models import Role
from tests.conftest import TenantKeys

FRONTEND = "https://crm.example.com"


def _vary(response: httpx.Response) -> set[str]:
    return {name.strip().lower() for name in response.headers.get("vary", "").split(",")}


@pytest.mark.parametrize(
    ("accept", "language"), [(None, "zh-CN"), ("en-US,en;q=0.9", "en"), ("fr", "zh-CN")]
)
async def test_api_answers_and_problems_say_their_language(
    client: httpx.AsyncClient, tenant: TenantKeys, accept: str | None, language: str
) -> None:
    headers = tenant.headers(Role.ADMIN) | ({"Accept-Language": accept} if accept else {})
    answers = [
        await client.get("/api/v1/fields", headers=headers),
        await client.get("/api/v1/customers/not-an-id", headers=headers),  # 422
        await client.get("/api/v1/no-such-route", headers=headers),  # 404
        await client.get("/no-such-page"),  # a problem outside the API
    ]
    assert [a.status_code for a in answers] == [200, 422, 404, 404]
    for answer in answers[:3]:
        assert answer.headers["content-language"] == language, answer.request.url
        assert "accept-language" in _vary(answer)
    assert answers[3].headers["content-language"] == "zh-CN"
    # The words follow the header: a field's label is the one of the language it names.
    field = answers[0].json()["items"][0]
    assert field["label"] == field["label_en" if language == "en" else "label_zh"]


async def test_what_is_not_localised_says_nothing(client: httpx.AsyncClient) -> None:
    live = await client.get("/health/live")
    assert live.status_code == 200
    assert "content-language" not in live.headers


async def test_vary_keeps_cors_origin(
    settings: Settings, database: Database, tenant: TenantKeys
) -> None:
    allowing = settings.model_copy(update={"cors_origins": [FRONTEND]})
    app = create_app(allowing, database=database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        answer = await http.get("/api/v1/fields", headers=tenant.headers(Origin=FRONTEND))
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == FRONTEND
    assert len(answer.headers.get_list("vary")) == 1
    assert {"origin", "accept-language"} <= _vary(answer)
