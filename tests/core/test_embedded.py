"""The zero-setup path: with no CRMC_DATABASE_URL the service runs its own PostgreSQL."""

import shutil
from pathlib import Path

import httpx
import psutil

from app.core.settings import Settings
from app.main import create_app
from app.models import Role
from app.tenants import service as tenant_service
from tests.conftest import embedded_data_dir


def _postmaster_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    return psutil.pid_exists(int(pid_file.read_text().splitlines()[0]))


async def test_the_embedded_database_starts_migrates_stops_and_keeps_data() -> None:
    data_dir = embedded_data_dir()
    try:
        await _start_stop_restart(data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


async def _start_stop_restart(data_dir: Path) -> None:
    settings = Settings(database_url=None, data_dir=data_dir / "data", log_json=False)
    app = create_app(settings)

    async with app.router.lifespan_context(app):
        database = app.state.database
        async with database.sessionmaker() as session, session.begin():
            tenant = await tenant_service.create_tenant(session, "embedded", "内嵌")
            _, secret = await tenant_service.create_api_key(
                session, tenant.id, name="k", role=Role.VIEWER, delegating=False, created_by="t"
            )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            ready = await http.get("/health/ready")
            assert ready.status_code == 200
            assert ready.json()["migrations"]["up_to_date"] is True
    pgdata = settings.data_dir / "pgdata"
    assert (pgdata / "PG_VERSION").exists()
    assert not _postmaster_running(pgdata), "the server outlived the app"

    again = create_app(settings)
    async with (
        again.router.lifespan_context(again),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=again), base_url="http://t") as http,
    ):
        me = await http.get("/api/v1/tenant", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    assert me.json()["name"] == "内嵌"
    assert not _postmaster_running(pgdata)
