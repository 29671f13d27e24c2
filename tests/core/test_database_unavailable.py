"""When the database cannot be used, every API call says so: 503 problem+json with
Retry-After (as /health/ready does), never a 500 that reads like a bug, and the service
recovers by itself once the database is back."""

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.core.db import Database, DatabaseUnavailable, alembic_config, database_unavailable
from app.core.settings import Settings
from app.main import create_app
from app.models import Role
from app.tenants import service as tenant_service
from tests.conftest import PostgresServer
from tests.core.test_errors import assert_problem


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _assert_unavailable(response: httpx.Response) -> None:
    body = assert_problem(response, 503)
    assert body["type"].endswith(":service-unavailable")
    assert response.headers["retry-after"] == "5"


async def test_every_api_call_is_a_503_with_retry_after_when_the_database_is_unreachable() -> None:
    url = f"postgresql+asyncpg://crmc@127.0.0.1:{_closed_port()}/crmc"
    database = Database.connect(url)
    app = create_app(Settings(database_url=url, log_json=False), database)
    key = "crmc_" + "a" * 12 + "_" + "b" * 43  # shaped like a key, so it is looked up
    headers = {"Authorization": f"Bearer {key}", "accept-language": "en"}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http:
            for method, path, body in (
                ("GET", "/api/v1/customers", None),
                ("POST", "/api/v1/customers", {"code": "A", "name": "甲"}),
                ("GET", "/api/v1/fields", None),
            ):
                response = await http.request(method, path, json=body, headers=headers)
                _assert_unavailable(response)
                assert "database is unavailable" in response.json()["detail"]
            assert (await http.get("/health/ready")).status_code == 503
            assert (await http.get("/health/live")).status_code == 200
    finally:
        await database.dispose()


@pytest.fixture
async def own_database(postgres: PostgresServer) -> AsyncIterator[str]:
    """A database of this test only, migrated to head, dropped afterwards."""
    from alembic import command

    url = await postgres.fresh_database("unavailable")
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    yield url
    await postgres.drop(url)


async def _admin(postgres: PostgresServer, sql: str) -> None:
    database = Database.connect(postgres.admin_url, pooled=False)
    try:
        async with database.engine.connect() as conn:
            await conn.execute(text(sql))
            await conn.commit()
    finally:
        await database.dispose()


async def test_a_database_that_goes_away_is_a_503_and_coming_back_heals(
    postgres: PostgresServer, own_database: str
) -> None:
    name = make_url(own_database).database
    database = Database.connect(own_database, pool_size=2, max_overflow=0)
    async with database.sessionmaker() as session, session.begin():
        tenant = await tenant_service.create_tenant(session, "gone", "断线")
        _, secret = await tenant_service.create_api_key(
            session, tenant.id, name="k", role=Role.VIEWER, delegating=False, created_by="t"
        )
    app = create_app(Settings(database_url=own_database, log_json=False), database)
    headers = {"Authorization": f"Bearer {secret}"}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http:
            assert (await http.get("/api/v1/customers", headers=headers)).status_code == 200
            # The server drops every connection of the pool and takes no new ones.
            await _admin(postgres, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await _admin(
                postgres,
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
            )
            for _ in range(3):
                _assert_unavailable(await http.get("/api/v1/customers", headers=headers))
            assert (await http.get("/health/ready")).status_code == 503
            await _admin(postgres, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            assert (await http.get("/api/v1/customers", headers=headers)).status_code == 200
    finally:
        await database.dispose()


def _lost_connection() -> DBAPIError:
    error = DBAPIError("SELECT 1", {}, ConnectionResetError("reset"))
    error.connection_invalidated = True
    return error


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (DatabaseUnavailable("refused"), True),
        (PoolTimeout("QueuePool limit reached"), True),
        (_lost_connection(), True),
        (DBAPIError("SELECT 1/0", {}, ZeroDivisionError("division by zero")), False),
        (FileNotFoundError("report.xlsx"), False),
    ],
)
def test_only_connection_failures_count_as_the_database_being_unavailable(
    error: Any, unavailable: bool
) -> None:
    assert database_unavailable(error) is unavailable
