"""The CLI prints created secrets as the last line of standard output, for scripts."""

import asyncio
import os
import subprocess
import sys

import httpx

from tests.conftest import PostgresServer


def _cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRMC_DATABASE_URL": url, "CRMC_LOG_JSON": "false"}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_create_tenant_and_key_print_the_secret_last_and_it_works(
    postgres: PostgresServer, app: object, database_url: str
) -> None:
    url = await postgres.fresh_database("cli")
    try:
        migrated = await asyncio.to_thread(_cli, "migrate", url=url)
        assert migrated.returncode == 0, migrated.stderr
        created = await asyncio.to_thread(
            _cli, "create-tenant", "cli-co", "--name", "华信", url=url
        )
        assert created.returncode == 0, created.stderr
        keyed = await asyncio.to_thread(
            _cli, "create-api-key", "--tenant", "cli-co", "--role", "editor", url=url
        )
        assert keyed.returncode == 0, keyed.stderr
        secret = keyed.stdout.strip().splitlines()[-1]
        assert secret.startswith("crmc_")

        duplicate = await asyncio.to_thread(_cli, "create-tenant", "cli-co", "--name", "x", url=url)
        assert duplicate.returncode == 1
        unknown = await asyncio.to_thread(
            _cli, "create-api-key", "--tenant", "nobody", "--role", "viewer", url=url
        )
        assert unknown.returncode == 1

        from app.core.db import Database
        from app.core.settings import Settings
        from app.main import create_app

        database = Database.connect(url)
        try:
            served = create_app(Settings(database_url=url), database)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=served), base_url="http://t"
            ) as http:
                me = await http.get("/api/v1/tenant", headers={"Authorization": f"Bearer {secret}"})
            assert me.status_code == 200
            assert me.json()["slug"] == "cli-co"
        finally:
            await database.dispose()
    finally:
        await postgres.drop(url)
