"""Liveness, readiness and Prometheus metrics."""

from typing import Literal

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from app.core.db import Database, migration_state
from app.core.openapi import documented

router = APIRouter(tags=["health"])


class Live(BaseModel):
    status: Literal["ok"]


class MigrationsOut(BaseModel):
    current: str | None
    head: str | None
    up_to_date: bool


class Ready(BaseModel):
    """Whether the service can serve: database reachable and migrations current."""

    status: Literal["ready", "not_ready"]
    database: Literal["ok", "unreachable"]
    migrations: MigrationsOut | None


_READY_EXAMPLE = {
    "status": "ready",
    "database": "ok",
    "migrations": {"current": "155cec140681", "head": "155cec140681", "up_to_date": True},
}


@router.get(
    "/health/live",
    response_model=Live,
    **documented("getLiveness", "Liveness", example={"status": "ok"}, authenticated=False),
)
async def live() -> Live:
    """The process is up and serving HTTP."""
    return Live(status="ok")


@router.get(
    "/health/ready",
    response_model=Ready,
    **documented(
        "getReadiness",
        "Readiness",
        example=_READY_EXAMPLE,
        authenticated=False,
        responses={503: {"model": Ready, "description": "Not ready"}},
    ),
)
async def ready(request: Request, response: Response) -> Ready:
    """Ready when the database answers and its migrations are at the code's head;
    503 otherwise, with what is wrong."""
    database: Database = request.app.state.database
    try:  # reading the migration state is the round trip that proves the database answers
        state = await migration_state(database.engine)
    except Exception:
        response.status_code = 503
        return Ready(status="not_ready", database="unreachable", migrations=None)
    migrations = MigrationsOut(current=state.current, head=state.head, up_to_date=state.up_to_date)
    if not state.up_to_date:
        response.status_code = 503
    return Ready(
        status="ready" if state.up_to_date else "not_ready", database="ok", migrations=migrations
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus exposition of the app's registry."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
