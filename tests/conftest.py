"""Test harness: real PostgreSQL, the app over ASGI, a fresh tenant per test.

The database is the embedded server (one per xdist worker, in a temporary directory)
unless CRMC_TEST_DATABASE_URL points at a server; either way each worker gets its own
database migrated to head. Every test makes its own tenant(s), and everything is
tenant-scoped, so tests are isolated from each other and can run in any order and in
parallel without truncating anything.
"""

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.core.db import Database, EmbeddedPostgres, alembic_config
from app.core.settings import Settings
from app.main import create_app
from app.models import Role
from app.tenants import service as tenant_service

# Tests never assert a time. Hypothesis's per-example deadline and its too_slow health
# check are wall-clock limits: on a loaded machine (CI shares two cores between xdist
# workers) they fail a test that computed the right answer. Slow strategies are made
# cheaper instead (tests/imports/test_activity_rows.py).
hypothesis.settings.register_profile(
    "crm-classifier", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
hypothesis.settings.load_profile("crm-classifier")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Name the random test order (pytest-randomly) under -q too, so that a failing order
    can be run again; and the files tests kept for a person to look at (a test records
    one as `request.node.user_properties.append(("artifact", path))`, which reaches here
    from xdist workers too)."""
    seed = config.getoption("randomly_seed", None)
    if isinstance(seed, int):
        terminalreporter.write_line(f"test order: --randomly-seed={seed}")
    artifacts = {
        str(value): None
        for reports in terminalreporter.stats.values()
        for report in reports
        for name, value in getattr(report, "user_properties", ())
        if name == "artifact"
    }
    for path in artifacts:
        terminalreporter.write_line(f"artifact: {path}")


@dataclass
class PostgresServer:
    """Where test databases are created: an admin URL and a name prefix for this worker."""

    admin_url: str
    prefix: str
    embedded: EmbeddedPostgres | None = None

    def url(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(False)

    async def fresh_database(self, suffix: str) -> str:
        """Drop and create `<prefix>_<suffix>`; return its URL."""
        name = f"{self.prefix}_{suffix}"
        engine = create_async_engine(
            self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await engine.dispose()
        return self.url(name)

    async def drop(self, url: str) -> None:
        name = make_url(url).database
        engine = create_async_engine(
            self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def embedded_data_dir() -> Path:
    """A fresh directory for an embedded server, outside pytest's tmp tree.

    As root the server runs as another user, which needs to traverse every parent
    directory; pytest keeps resetting its tmp root to mode 0700 (once per xdist worker),
    which would lock a running server out of its own socket directory.
    """
    return Path(tempfile.mkdtemp(prefix="crmc-test-pg-"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The PostgreSQL server of this test process."""
    server_url = os.environ.get("CRMC_TEST_DATABASE_URL")
    if server_url:
        # Named after the given database, so concurrent runs on one server never collide.
        yield PostgresServer(server_url, f"{make_url(server_url).database}_{_worker()}")
        return
    embedded = EmbeddedPostgres(embedded_data_dir())
    # Durability buys nothing in tests; these make the suite several times faster.
    embedded._server.psql(
        "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off; "
        "ALTER SYSTEM SET full_page_writes = off; SELECT pg_reload_conf();"
    )
    yield PostgresServer(embedded.url("postgres"), "crmc_test", embedded)
    embedded.stop()
    shutil.rmtree(embedded.pgdata.parent, ignore_errors=True)


@pytest.fixture(scope="session")
async def database_url(postgres: PostgresServer) -> AsyncIterator[str]:
    """This worker's database, migrated to head."""
    from alembic import command

    url = await postgres.fresh_database("main")
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    yield url
    await postgres.drop(url)


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database.connect(database_url, pool_size=20, max_overflow=40)
    yield db
    await db.dispose()


@dataclass
class OwnDatabase:
    """A database of one test module, with an app on it."""

    url: str
    database: Database
    app: Any


@pytest.fixture(scope="module")
async def own_database(postgres: PostgresServer, request: Any) -> AsyncIterator[OwnDatabase]:
    """A migrated database for one module alone: for tests whose job workers run in
    other processes and must see no job of other tests."""
    from alembic import command

    url = await postgres.fresh_database(request.module.__name__.rsplit(".", 1)[-1])
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    database = Database.connect(url, pool_size=5, max_overflow=5)
    settings = Settings(database_url=url, log_json=False, api_key_touch_seconds=0)
    yield OwnDatabase(url, database, create_app(settings, database))
    await database.dispose()
    await postgres.drop(url)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, log_json=False, api_key_touch_seconds=0)


@pytest.fixture(scope="session")
def app(settings: Settings, database: Database) -> Any:
    return create_app(settings, database)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        yield http


@dataclass
class TenantKeys:
    """A tenant made for one test, with a key of every role."""

    id: uuid.UUID
    slug: str
    keys: dict[Role, str] = field(default_factory=dict)
    key_ids: dict[Role, uuid.UUID] = field(default_factory=dict)

    def headers(self, role: Role | str = Role.ADMIN, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[Role(role)]}", **extra}


async def new_tenant(database: Database, **settings: Any) -> TenantKeys:
    """A tenant with one key per role (and a delegating admin key)."""
    slug = f"t-{uuid.uuid4().hex[:12]}"
    async with database.sessionmaker() as session, session.begin():
        tenant = await tenant_service.create_tenant(session, slug, f"测试租户 {slug}", **settings)
        made = TenantKeys(tenant.id, slug)
        for role in Role:
            key, secret = await tenant_service.create_api_key(
                session,
                tenant.id,
                name=f"{role.value} key",
                role=role,
                delegating=role is Role.ADMIN,
                created_by="test",
            )
            made.keys[role], made.key_ids[role] = secret, key.id
    return made


@pytest.fixture
def make_tenant(database: Database) -> Any:
    """Create a tenant with one key per role (and a delegating admin key)."""

    async def make(**settings: Any) -> TenantKeys:
        return await new_tenant(database, **settings)

    return make


@pytest.fixture
async def tenant(make_tenant: Any) -> TenantKeys:
    return await make_tenant()


@pytest.fixture
async def api(client: httpx.AsyncClient, tenant: TenantKeys) -> httpx.AsyncClient:
    """A client authenticated as the test tenant's admin."""
    client.headers.update(tenant.headers(Role.ADMIN))
    return client


REPO = Path(__file__).resolve().parents[1]
