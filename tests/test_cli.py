"""The CLI prints created secrets as the last line of standard output, for scripts."""

import asyncio
import io
import os
import socket
import subprocess
import sys

import httpx
import pytest
from rich.console import Console
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app import cli
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


async def test_demo_on_a_busy_port_says_so_in_plain_words_before_touching_anything(
    postgres: PostgresServer,
) -> None:
    url = await postgres.fresh_database("cli_demo_port")
    try:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            ran = await asyncio.to_thread(
                _cli, "demo", "--port", str(port), "--customers", "0", url=url
            )
        assert ran.returncode == 1
        assert f"端口 {port} 已被占用" in ran.stderr
        assert f"--port {port + 1}" in ran.stderr
        assert "API key" not in ran.stdout
        engine = create_async_engine(url, poolclass=NullPool)
        async with engine.connect() as conn:
            tables = await conn.scalar(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            )
        await engine.dispose()
        assert tables == 0  # not migrated, no tenant, no key
    finally:
        await postgres.drop(url)


def test_the_demo_hint_prints_the_curl_line_whole_at_80_columns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    written = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=written, width=80))
    secret = "crmc_" + "k" * 43
    cli.print_demo_hint("http://127.0.0.1:8000", secret)
    curl = f"try: curl -H 'Authorization: Bearer {secret}' http://127.0.0.1:8000/api/v1/customers"
    assert curl in written.getvalue().splitlines()
    assert capsys.readouterr().out == f"API key: {secret}\n"
