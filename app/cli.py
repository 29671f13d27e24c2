"""The `crm-classifier` command: serve, worker, migrate, demo, tenants and keys.

Commands are thin: they open the database (the embedded server when CRMC_DATABASE_URL
is unset) and call services. Commands that create a secret print it as the last line of
standard output so scripts can capture it; everything else goes to standard error.
"""

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvicorn
from rich.console import Console

from app.core.collector import settle_after_start
from app.core.db import Database
from app.core.logging import configure_logging
from app.core.openapi import write_examples
from app.core.settings import Settings, get_settings
from app.demo.tenant import classify_demo_customers, prepare_demo_tenant
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from app.main import create_app, ensure_migrated, open_database
from app.models import Role
from app.tenants import repository as tenant_repository
from app.tenants import service as tenant_service

cli = typer.Typer(
    name="crm-classifier",
    help="客户智能分类服务 · Sorts an enterprise's customers into categories.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True)
T = TypeVar("T")


def main() -> None:
    """Console-script entry point."""
    cli()


async def _with_database(
    settings: Settings,
    work: Callable[[Database], Awaitable[T]],
    *,
    migrate: bool = True,
    keep_embedded: bool = False,
) -> T:
    """Open the database (starting the embedded one if configured), migrate, run `work`.

    `keep_embedded` leaves the embedded server running for a server started next in this
    process (it reuses the running instance instead of stopping and starting it again).
    """
    database, embedded = await open_database(settings)
    try:
        url = database.engine.url.render_as_string(hide_password=False)
        await ensure_migrated(database, url, allow_upgrade=migrate)
        return await work(database)
    finally:
        await database.dispose()
        if embedded is not None and not keep_embedded:
            embedded.stop()


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    migrate: Annotated[
        bool | None,
        typer.Option(
            "--migrate/--no-migrate",
            help="Upgrade the database first (default: yes on the embedded database, "
            "no on CRMC_DATABASE_URL, where an outdated database is refused)",
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (and, unless CRMC_WORKER_IN_PROCESS=false, a job worker in a
    child process it restarts if it dies)."""
    settings = get_settings()
    if migrate is not None:
        settings = settings.model_copy(update={"migrate_on_start": migrate})
    configure_logging(settings.log_level, settings.log_json)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, proxy_headers=True)


@cli.command("migrate")
def migrate_command() -> None:
    """Upgrade the database to the newest migration."""
    settings = get_settings()

    async def report(database: Database) -> None:
        err.print("[green]database is at the newest migration[/green]")

    asyncio.run(_with_database(settings, report, migrate=True))


@cli.command("create-tenant")
def create_tenant(
    slug: Annotated[str, typer.Argument(help="Short id used in webhook URLs, e.g. huaxin")],
    name: Annotated[str, typer.Option("--name", help="Display name, e.g. 华信科技")],
    time_zone: Annotated[str, typer.Option(help="IANA time zone")] = "Asia/Shanghai",
    locale: Annotated[str, typer.Option(help="zh-CN or en")] = "zh-CN",
) -> None:
    """Create a tenant; prints its id as the last line."""

    async def work(database: Database) -> str:
        async with database.sessionmaker() as session, session.begin():
            tenant = await tenant_service.create_tenant(
                session, slug, name, time_zone=time_zone, locale=locale
            )
            return str(tenant.id)

    try:
        tenant_id = asyncio.run(_with_database(get_settings(), work))
    except tenant_service.TenantExists:
        err.print(f"[red]tenant {slug!r} already exists[/red]")
        raise typer.Exit(1) from None
    err.print(f"created tenant [bold]{slug}[/bold]")
    print(tenant_id)


@cli.command("create-api-key")
def create_api_key(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant slug")],
    role: Annotated[Role, typer.Option("--role", help="viewer, editor, approver or admin")],
    name: Annotated[str, typer.Option(help="What the key is for")] = "cli",
    delegating: Annotated[bool, typer.Option(help="May act for end users via X-Actor")] = False,
) -> None:
    """Create an API key; prints the secret (shown once) as the last line."""
    secret = asyncio.run(
        _with_database(get_settings(), lambda db: _issue_key(db, tenant, role, name, delegating))
    )
    if secret is None:
        err.print(f"[red]no tenant {tenant!r}[/red]")
        raise typer.Exit(1)
    err.print(f"created {role.value} key for tenant [bold]{tenant}[/bold] (shown once):")
    print(secret)


async def _issue_key(
    database: Database, slug: str, role: Role, name: str, delegating: bool
) -> str | None:
    async with database.sessionmaker() as session, session.begin():
        tenant = await tenant_repository.tenant_by_slug(session, slug)
        if tenant is None:
            return None
        _, secret = await tenant_service.create_api_key(
            session, tenant.id, name=name, role=role, delegating=delegating, created_by="cli"
        )
        return secret


@cli.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    customers: Annotated[
        int, typer.Option("--customers", min=0, help="Demo customers to load (~10 orders each)")
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Same seed, same data")] = 0,
) -> None:
    """Start the database, create tenant `demo` with demo data, an admin key and the seed
    templates (trees, categories, published rulesets), print the URL and the key, and
    serve."""
    settings = get_settings().model_copy(update={"migrate_on_start": True})
    if not _can_listen(host, port):
        # Before anything is loaded or a key printed: a busy port would end the demo after.
        err.print(
            f"端口 {port} 已被占用:请停止占用它的程序,或换一个端口(--port {port + 1})。\n"
            f"port {port} on {host} is in use: stop what listens there or pass --port {port + 1}",
            soft_wrap=True,
            highlight=False,
        )
        raise typer.Exit(1)

    async def prepare(database: Database) -> str:
        async with database.sessionmaker() as session, session.begin():
            demo = await prepare_demo_tenant(
                session,
                customers=customers,
                seed=seed,
                progress=lambda done: err.print(f"  {done:,}/{customers:,} customers"),
            )
        if demo.summary is None:
            err.print("tenant demo already has customers; demo data not loaded again")
        else:
            s = demo.summary
            err.print(
                f"loaded {s.customers:,} customers, {s.orders:,} orders, "
                f"{s.interactions:,} interactions, {s.complaints:,} complaints "
                f"in {s.seconds:.1f} s"
            )
        if demo.templates:
            err.print(
                f"installed templates (trees with published rulesets): {', '.join(demo.templates)}"
            )
        err.print("classifying every customer in every tree (an apply run) …")
        run = await classify_demo_customers(database, demo.principal)
        if run is not None:
            err.print(
                f"run {run.run_id} {run.status}: {run.customers:,} customers, "
                f"{run.changed:,} assignments made, in {run.seconds:.1f} s"
            )
        return demo.secret

    secret = asyncio.run(_with_database(settings, prepare, keep_embedded=True))
    print_demo_hint(f"http://{host}:{port}", secret)
    configure_logging(settings.log_level, settings.log_json)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None)


def print_demo_hint(url: str, secret: str) -> None:
    """Where the demo serves, and a curl line to paste: one line whatever the width (not
    on a terminal, rich would wrap it at 80 columns)."""
    err.print(f"[bold green]crm-classifier demo[/bold green] at {url}  (API docs: {url}/docs)")
    err.print(
        f"try: curl -H 'Authorization: Bearer {secret}' {url}/api/v1/customers",
        soft_wrap=True,
        highlight=False,
    )
    print(f"API key: {secret}", flush=True)


def _can_listen(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now (what uvicorn will do later)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(address)
    except OSError:
        return False
    return True


@cli.command()
def worker(
    supervised: Annotated[
        bool,
        typer.Option(hidden=True, help="Stop when standard input closes (serve's worker)"),
    ] = False,
) -> None:
    """Run background jobs (imports, classification runs, deliveries) until stopped."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    # Jobs parse files and classify customers: on a machine shared with serve (its own
    # worker is such a process), the requests should win the CPU.
    os.nice(settings.worker_nice)

    async def work(database: Database) -> None:
        load_handlers()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        if supervised:
            _stop_at_end_of_input(loop, stop)
        else:
            err.print(
                f"worker: running jobs; Ctrl-C stops (a running job gets "
                f"{settings.worker_stop_seconds:g} s, then goes back to the queue)"
            )
        lease = timedelta(seconds=settings.job_lease_seconds)
        worker = Worker(database, lease=lease, duty_seconds=settings.schedule_check_seconds)
        settle_after_start()
        await worker.run_until_stopped(stop, settings.worker_stop_seconds)

    asyncio.run(_with_database(settings, work, migrate=False))


def _stop_at_end_of_input(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set `stop` when standard input closes: serve holds the other end of the pipe, so a
    worker never outlives its serve, however serve ended."""
    fd = sys.stdin.fileno()

    def readable() -> None:
        if not os.read(fd, 4096):
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, readable)


@cli.command("openapi-examples")
def openapi_examples(
    directory: Annotated[Path, typer.Option(help="Where to write")] = Path("openapi-examples"),
) -> None:
    """Write every example of the OpenAPI spec to one JSON file per example."""
    written = write_examples(create_app(get_settings()).openapi(), directory)
    err.print(f"wrote {len(written)} example files to {directory}")


@cli.command("openapi")
def openapi_spec() -> None:
    """Print the OpenAPI spec as JSON."""
    print(json.dumps(create_app(get_settings()).openapi(), ensure_ascii=False, indent=2))
