"""An app with the data-quality router, and clients of it per role."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.core.db import Database
from app.core.settings import Settings
from app.main import create_app
from app.quality.router import router as quality_router


@pytest.fixture(scope="session")
def quality_app(settings: Settings, database: Database) -> Any:
    """The app with the data-quality routes (added here until app.main includes them)."""
    app = create_app(settings, database)
    if not any(getattr(route, "path", "") == "/api/v1/data-quality" for route in app.routes):
        app.include_router(quality_router)
    return app


@pytest.fixture
async def http(quality_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client of the app with the data-quality routes."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=quality_app), base_url="http://test"
    ) as client:
        yield client
