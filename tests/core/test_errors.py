"""Every error the app can produce is a problem+json document, localised."""

import json
from typing import Any

import httpx
import pytest
from fastapi import APIRouter

from app.core.db import Database
from app.core.settings import Settings
from app.main import create_app
from app.models import Role
from tests.conftest import TenantKeys

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:crm-classifier:problem:")
    assert body["title"]
    assert "Traceback" not in response.text
    return body


async def test_an_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/api/v1/no-such-thing"), 404)
    assert body["title"] == "资源不存在"


async def test_a_wrong_method_is_a_405_problem_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health/live")
    assert_problem(response, 405)
    assert "GET" in response.headers["allow"]


async def test_request_validation_is_a_422_with_errors(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    response = await client.post(
        "/api/v1/api-keys", json={"name": "", "role": "boss"}, headers=tenant.headers()
    )
    body = assert_problem(response, 422)
    locations = {tuple(e["loc"]) for e in body["errors"]}
    assert ("body", "role") in locations
    assert ("body", "name") in locations
    assert all(set(e) == {"loc", "msg", "type"} for e in body["errors"])


async def test_malformed_json_is_a_422(client: httpx.AsyncClient, tenant: TenantKeys) -> None:
    response = await client.post(
        "/api/v1/api-keys",
        content=b'{"name": ',
        headers=tenant.headers(**{"content-type": "application/json"}),
    )
    assert_problem(response, 422)


async def test_a_non_json_body_is_a_415(client: httpx.AsyncClient, tenant: TenantKeys) -> None:
    response = await client.post(
        "/api/v1/api-keys",
        content=b"name=x&role=viewer",
        headers=tenant.headers(**{"content-type": "application/x-www-form-urlencoded"}),
    )
    assert_problem(response, 415)


async def test_titles_are_english_with_accept_language_en(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/tenant", headers={"Accept-Language": "en-US,en;q=0.9"})
    body = assert_problem(response, 401)
    assert body["title"].startswith("Unauthorized")
    assert "Authorization" in body["detail"]


async def test_chinese_wins_when_preferred_by_q_value(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/tenant", headers={"Accept-Language": "en;q=0.5, zh-CN;q=0.9"}
    )
    assert assert_problem(response, 401)["title"].startswith("未认证")


@pytest.fixture(scope="module")
def small_limit_app(settings: Settings, database: Database) -> Any:
    app = create_app(settings.model_copy(update={"max_body_bytes": 2048}), database)
    boom = APIRouter()

    @boom.get("/boom")
    async def explode() -> None:
        raise RuntimeError("secret internals")

    app.include_router(boom)
    return app


async def test_an_oversized_body_is_a_413(small_limit_app: Any, tenant: TenantKeys) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=small_limit_app), base_url="http://test"
    ) as http:
        response = await http.post(
            "/api/v1/api-keys",
            json={"name": "x" * 5000, "role": "viewer"},
            headers=tenant.headers(Role.ADMIN),
        )
    assert_problem(response, 413)


async def test_an_oversized_streamed_body_is_a_413(
    small_limit_app: Any, tenant: TenantKeys
) -> None:
    async def chunks() -> Any:
        for _ in range(10):
            yield b" " * 1024

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=small_limit_app), base_url="http://test"
    ) as http:
        response = await http.post(
            "/api/v1/api-keys",
            content=chunks(),
            headers=tenant.headers(Role.ADMIN, **{"content-type": "application/json"}),
        )
    assert_problem(response, 413)


async def test_an_unexpected_failure_is_a_500_with_correlation_id_and_no_internals(
    small_limit_app: Any,
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=small_limit_app, raise_app_exceptions=False),
        base_url="http://test",
    ) as http:
        response = await http.get("/boom", headers={"X-Request-ID": "req-abc-123"})
    body = assert_problem(response, 500)
    assert body["correlation_id"] == "req-abc-123"
    assert response.headers["x-request-id"] == "req-abc-123"
    assert "secret internals" not in response.text


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert len(response.headers["x-request-id"]) >= 16
    echoed = await client.get("/health/live", headers={"X-Request-ID": "abc.123"})
    assert echoed.headers["x-request-id"] == "abc.123"
    invalid = await client.get("/health/live", headers={"X-Request-ID": "bad id\twith tab"})
    assert invalid.headers["x-request-id"] != "bad id\twith tab"


async def test_text_postgres_cannot_store_is_a_422_not_a_500(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    for name in ["a\x00b", "\ud83d lone surrogate"]:
        response = await client.post(
            "/api/v1/api-keys",
            content=json.dumps({"name": name, "role": "viewer"}).encode(),
            headers=tenant.headers(**{"content-type": "application/json"}),
        )
        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"] == ["body", "name"]
    query = await client.get("/api/v1/audit-events?actor=a%00b", headers=tenant.headers())
    assert_problem(query, 422)


async def test_a_boolean_sent_as_a_number_is_refused(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    response = await client.post(
        "/api/v1/api-keys",
        json={"name": "n", "role": "viewer", "delegating": 0},
        headers=tenant.headers(),
    )
    assert assert_problem(response, 422)["errors"][0]["loc"] == ["body", "delegating"]
