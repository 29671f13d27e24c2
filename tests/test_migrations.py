"""Migrations build the schema the models describe, and can be undone."""

import asyncio
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.core.db import Database, alembic_config, head_revision, migration_state
from app.main import MigrationsBehind, ensure_migrated
from app.models import Base
from tests.conftest import PostgresServer


async def _diff_and_tables(url: str) -> tuple[list[Any], set[str]]:
    engine = create_async_engine(url, poolclass=NullPool)

    def inspect_sync(conn: Any) -> tuple[list[Any], set[str]]:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, Base.metadata), set(inspect(conn).get_table_names())

    async with engine.connect() as conn:
        result = await conn.run_sync(inspect_sync)
    await engine.dispose()
    return result


async def test_upgrade_head_matches_the_models_and_downgrade_base_empties(
    postgres: PostgresServer,
) -> None:
    url = await postgres.fresh_database("migrations")
    try:
        config = alembic_config(url)
        await asyncio.to_thread(command.upgrade, config, "head")
        diff, tables = await _diff_and_tables(url)
        assert diff == [], f"models and migrations disagree: {diff}"
        assert set(Base.metadata.tables) <= tables

        await asyncio.to_thread(command.downgrade, config, "base")
        _, tables = await _diff_and_tables(url)
        assert tables <= {"alembic_version"}

        await asyncio.to_thread(command.upgrade, config, "head")
        diff, _ = await _diff_and_tables(url)
        assert diff == []
    finally:
        await postgres.drop(url)


# What alembic's comparison does not look at: CHECK expressions, index predicates and
# expressions, foreign key actions. PostgreSQL prints each definition in one normal form.
_DEFINITIONS = text(
    "SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid, true)"
    " FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid <> 0"
    " UNION ALL"
    " SELECT 'index', tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
)


async def _definitions(url: str) -> set[tuple[str, ...]]:
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.connect() as conn:
        rows = (await conn.execute(_DEFINITIONS)).all()
    await engine.dispose()
    return {tuple(row) for row in rows if row[1] != "alembic_version"}


async def test_migrations_build_the_constraints_and_index_predicates_the_models_declare(
    postgres: PostgresServer,
) -> None:
    migrated = await postgres.fresh_database("migrated")
    declared = await postgres.fresh_database("declared")
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(migrated), "head")
        engine = create_async_engine(declared, poolclass=NullPool)
        async with engine.begin() as conn:
            await conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            await conn.run_sync(Base.metadata.create_all)
        await engine.dispose()
        by_migrations, by_models = await _definitions(migrated), await _definitions(declared)
        assert by_migrations, "the catalog query found the schema"
        only_migrated, only_declared = by_migrations - by_models, by_models - by_migrations
        assert (sorted(only_migrated), sorted(only_declared)) == ([], [])
    finally:
        await postgres.drop(migrated)
        await postgres.drop(declared)


async def test_an_outdated_database_is_refused_unless_upgrading_is_allowed(
    postgres: PostgresServer,
) -> None:
    url = await postgres.fresh_database("behind")
    database = Database.connect(url)
    try:
        state = await migration_state(database.engine)
        assert state.current is None
        assert state.head == head_revision()
        with pytest.raises(MigrationsBehind, match="crm-classifier migrate"):
            await ensure_migrated(database, url, allow_upgrade=False)
        await ensure_migrated(database, url, allow_upgrade=True)
        assert (await migration_state(database.engine)).up_to_date
    finally:
        await database.dispose()
        await postgres.drop(url)
