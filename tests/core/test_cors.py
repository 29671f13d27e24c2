"""CORS: browsers on the origins of CRMC_CORS_ORIGINS may call the API; by default none."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from app.core.db import Database
from app.core.settings import Settings
from app.main import create_app
from tests.conftest import TenantKeys

FRONTEND = "https://crm.example.com"


@pytest.fixture
async def cors_client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    allowing = settings.model_copy(update={"cors_origins": [FRONTEND, "http://localhost:5173"]})
    transport = httpx.ASGITransport(app=create_app(allowing, database))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def _preflight(origin: str, method: str = "PATCH") -> dict[str, Any]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, if-match, x-actor, content-type",
    }


async def test_a_preflight_from_an_allowed_origin_is_answered(
    cors_client: httpx.AsyncClient,
) -> None:
    answer = await cors_client.options("/api/v1/tenant", headers=_preflight(FRONTEND))
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == FRONTEND
    assert "PATCH" in answer.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "if-match", "x-actor", "content-type", "idempotency-key"} <= allowed


async def test_a_preflight_from_another_origin_is_refused(
    cors_client: httpx.AsyncClient,
) -> None:
    answer = await cors_client.options(
        "/api/v1/tenant", headers=_preflight("https://evil.example.net")
    )
    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers


async def test_a_real_response_exposes_etag_location_and_request_id(
    cors_client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    read = await cors_client.get("/api/v1/tenant", headers=tenant.headers(Origin=FRONTEND))
    assert read.status_code == 200
    assert read.headers["access-control-allow-origin"] == FRONTEND
    exposed = {h.strip().lower() for h in read.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "location", "x-request-id", "idempotent-replayed", "retry-after"} <= exposed
    assert read.headers["etag"]
    assert read.headers["x-request-id"]


async def test_an_error_is_readable_by_the_allowed_origin_too(
    cors_client: httpx.AsyncClient,
) -> None:
    refused = await cors_client.get("/api/v1/tenant", headers={"Origin": FRONTEND})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == FRONTEND


async def test_a_response_to_another_origin_does_not_allow_it(
    cors_client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    read = await cors_client.get(
        "/api/v1/tenant", headers=tenant.headers(Origin="https://evil.example.net")
    )
    assert read.status_code == 200
    # Without Access-Control-Allow-Origin the browser keeps the answer from the page.
    assert "access-control-allow-origin" not in read.headers


async def test_by_default_there_are_no_cors_headers(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    preflight = await client.options("/api/v1/tenant", headers=_preflight(FRONTEND))
    assert preflight.status_code == 405
    read = await client.get("/api/v1/tenant", headers=tenant.headers(Origin=FRONTEND))
    assert read.status_code == 200
    assert not [h for h in read.headers if h.startswith("access-control-")]


def test_the_setting_is_a_comma_separated_list_of_origins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRMC_CORS_ORIGINS", " https://CRM.example.com/ ,http://localhost:5173")
    assert Settings().cors_origins == ["https://crm.example.com", "http://localhost:5173"]
    monkeypatch.delenv("CRMC_CORS_ORIGINS")
    assert Settings().cors_origins == []
    for wrong in ("crm.example.com", "https://crm.example.com/app"):
        monkeypatch.setenv("CRMC_CORS_ORIGINS", wrong)
        with pytest.raises(ValidationError):
            Settings()
