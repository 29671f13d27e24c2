"""Idempotency-Key: a retried POST replays the first answer and does the work once.

No route that starts work exists yet in the foundation, so the mechanism is exercised
through a small route that creates an audit event (real work in the real database)."""

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from app.audit.service import record_event
from app.core.auth import EditorKey
from app.core.db import Database
from app.core.deps import Session
from app.core.idempotency import IdempotencyDep
from app.core.routing import ApiRoute
from app.core.settings import Settings
from app.main import create_app
from app.models import Role
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem


class StartWork(BaseModel):
    label: str


@pytest.fixture(scope="module")
def work_app(settings: Settings, database: Database) -> Any:
    app = create_app(settings, database)
    router = APIRouter(route_class=ApiRoute)

    @router.post("/api/v1/test-work", status_code=202)
    async def start(
        principal: EditorKey, session: Session, body: StartWork, idempotency: IdempotencyDep
    ) -> Any:
        if (replayed := await idempotency.replay(principal, body)) is not None:
            return replayed
        event = record_event(
            session, principal, entity_type="work", entity_id=body.label, action="start"
        )
        await session.flush()  # for event.id
        await asyncio.sleep(0.05)  # widen the window for concurrent twins
        return await idempotency.remember(202, {"work_id": str(event.id), "label": body.label})

    app.include_router(router)
    return app


@pytest.fixture
async def work_client(work_app: Any) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=work_app), base_url="http://test"
    ) as http:
        yield http


async def _work_events(http: httpx.AsyncClient, tenant: TenantKeys) -> list[Any]:
    events = await http.get(
        "/api/v1/audit-events", params={"entity_type": "work"}, headers=tenant.headers()
    )
    return events.json()["items"]


async def test_a_retry_with_the_same_key_and_body_replays_the_first_response(
    work_client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    headers = tenant.headers(Role.EDITOR, **{"Idempotency-Key": "run-2026-11-25"})
    first = await work_client.post("/api/v1/test-work", json={"label": "a"}, headers=headers)
    again = await work_client.post("/api/v1/test-work", json={"label": "a"}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(await _work_events(work_client, tenant)) == 1


async def test_the_same_key_with_a_different_body_is_422(
    work_client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    headers = tenant.headers(Role.EDITOR, **{"Idempotency-Key": "k1"})
    await work_client.post("/api/v1/test-work", json={"label": "a"}, headers=headers)
    other = await work_client.post("/api/v1/test-work", json={"label": "b"}, headers=headers)
    body = assert_problem(other, 422)
    assert body["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert len(await _work_events(work_client, tenant)) == 1


async def test_concurrent_twins_do_the_work_once(
    work_client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    headers = tenant.headers(Role.EDITOR, **{"Idempotency-Key": "twin"})
    responses = await asyncio.gather(
        *(
            work_client.post("/api/v1/test-work", json={"label": "t"}, headers=headers)
            for _ in range(8)
        )
    )
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["work_id"] for r in responses}) == 1
    assert len(await _work_events(work_client, tenant)) == 1


async def test_keys_are_per_tenant_and_requests_without_a_key_always_run(
    work_client: httpx.AsyncClient, make_tenant: Any
) -> None:
    one, two = await make_tenant(), await make_tenant()
    for tenant in (one, two):
        response = await work_client.post(
            "/api/v1/test-work",
            json={"label": "x"},
            headers=tenant.headers(Role.EDITOR, **{"Idempotency-Key": "shared"}),
        )
        assert response.status_code == 202
        assert "idempotent-replayed" not in response.headers
    for _ in range(2):
        plain = await work_client.post(
            "/api/v1/test-work", json={"label": "x"}, headers=one.headers(Role.EDITOR)
        )
        assert plain.status_code == 202, plain.text
    assert len(await _work_events(work_client, one)) == 3
