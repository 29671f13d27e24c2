"""Shared bench plumbing: a fresh database, the machine description, RESULTS.md.

The benches keep their embedded servers and generated files in a data directory:
`--data-dir`, else $CRMC_BENCH_DATA, else `bench/` in the per-user data directory the
service uses (on Linux ~/.local/share/crm-classifier/bench).
"""

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.core.db import EmbeddedPostgres, create_database_if_missing, upgrade_to_head
from app.core.settings import default_data_dir

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def bench_data_dir() -> Path:
    """$CRMC_BENCH_DATA, else `bench/` in the service's per-user data directory."""
    configured = os.environ.get("CRMC_BENCH_DATA")
    return Path(configured) if configured else default_data_dir() / "bench"


def add_data_dir(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The `--data-dir` option every bench takes."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=bench_data_dir(),
        help="where the embedded servers and generated files live "
        "(default: $CRMC_BENCH_DATA, else %(default)s)",
    )
    return parser


def machine() -> str:
    """CPU, memory and Python of this machine, one line."""
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) // 1024 // 1024} GiB"
    except OSError:
        pass
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {memory} RAM, Python {platform.python_version()}"


async def fresh_database(
    name: str, data_dir: Path, url: str | None = None
) -> tuple[str, EmbeddedPostgres | None]:
    """A new, migrated database `name` on `url`'s or CRMC_DATABASE_URL's server, else on
    an embedded one in `data_dir/name`."""
    embedded = None
    admin = url or os.environ.get("CRMC_DATABASE_URL")
    if admin is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        embedded = EmbeddedPostgres(data_dir / name)
        admin = embedded.url("postgres")
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()
    await create_database_if_missing(admin, name)
    db_url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    await upgrade_to_head(db_url)
    return db_url, embedded


def demo_arguments(description: str | None) -> argparse.ArgumentParser:
    """A parser with the options of benches over bench/load_demo.py's database."""
    parser = add_data_dir(argparse.ArgumentParser(description=description))
    parser.add_argument("--database-url", help="default: the embedded bench_demo database")
    parser.add_argument("--tenant-id", help="default: tenant `demo` of bench/load_demo.py")
    parser.add_argument("--as-of", help="default: today, the date bench/load_demo.py loads for")
    parser.add_argument("--repeats", type=int, default=2)
    return parser


def demo_database(args: argparse.Namespace) -> tuple[str, uuid.UUID, date, EmbeddedPostgres | None]:
    """URL, tenant and as-of date from `demo_arguments`' options, and the embedded server
    started for them (None when --database-url names one)."""
    url, server = args.database_url, None
    if url is None:
        server = EmbeddedPostgres(args.data_dir / "bench_demo")
        url = server.url("bench_demo")
    tenant = uuid.UUID(args.tenant_id) if args.tenant_id else asyncio.run(demo_tenant(url))
    as_of = date.fromisoformat(args.as_of) if args.as_of else date.today()
    return url, tenant, as_of, server


async def demo_tenant(url: str) -> uuid.UUID:
    """The id of tenant `demo`, which bench/load_demo.py creates."""
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.connect() as conn:
        tenant_id = await conn.scalar(text("SELECT id FROM tenants WHERE slug = 'demo'"))
    await engine.dispose()
    if tenant_id is None:
        raise SystemExit(f"no tenant 'demo' at {url}: run bench/load_demo.py first")
    return tenant_id


async def server_version(url: str) -> str:
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.connect() as conn:
        version = await conn.scalar(text("SHOW server_version"))
    await engine.dispose()
    return f"PostgreSQL {version}"


def record(title: str, lines: list[str], *, postgres: str) -> None:
    """Print the figures and append them to bench/RESULTS.md with date and machine."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = [f"## {title} — {stamp}", "", f"Machine: {machine()}; {postgres}.", ""]
    block += [f"- {line}" for line in lines]
    text_block = "\n".join(block) + "\n\n"
    print(text_block)
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nFigures appended by the scripts in bench/.\n\n")
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(text_block)


@contextmanager
def timed(label: str, sink: dict[str, float]) -> Any:
    start = time.perf_counter()
    yield
    sink[label] = time.perf_counter() - start


def serve(url: str, port: int, *, worker: bool = False) -> subprocess.Popen[bytes]:
    """`crm-classifier serve` on 127.0.0.1:port against `url` (with its job worker when
    `worker`), waiting until it is ready."""
    env = {
        **os.environ,
        "CRMC_DATABASE_URL": url,
        "CRMC_LOG_LEVEL": "WARNING",
        "CRMC_WORKER_IN_PROCESS": "true" if worker else "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not become ready")


def postgres_cpu(pgdata: Path) -> float:
    """CPU seconds of the server so far: the postmaster, its live children and the
    children it has reaped (backends that ended)."""
    postmaster = psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
    times = postmaster.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in postmaster.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += child_times.user + child_times.system
    return total


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)
