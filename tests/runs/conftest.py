"""Run tests: a tenant with demo customers and the seed templates installed, and a way
to run the queued jobs of that tenant's runs."""

import asyncio
import uuid
from datetime import date
from typing import Any

import httpx
import pytest

from app.core.db import Database
from app.demo import load_demo
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from tests.conftest import TenantKeys

AS_OF = date(2026, 11, 25)
TEMPLATES = ("value", "activity", "risk", "relationship")


@pytest.fixture
async def classified(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> dict[str, Any]:
    """60 demo customers and the four seed trees with published rulesets; tree ids by key."""
    await load_demo(database.engine, tenant.id, customers=60, seed=7, as_of=AS_OF)
    trees = {}
    for key in TEMPLATES:
        installed = await api.post(f"/api/v1/templates/{key}/install")
        assert installed.status_code == 201, installed.text
        trees[key] = installed.json()["tree_id"]
    return trees


RUN_KINDS = ["run.start", "run.chunk", "run.finalize", "run.prune"]


async def run_jobs(
    database: Database, tenant_id: uuid.UUID, workers: int = 1, kinds: list[str] | None = None
) -> int:
    """Run the queued jobs of the tenant's runs (of `kinds`; with `workers` workers side by
    side) until none is left. Another test's jobs are never taken."""
    load_handlers()
    done = await asyncio.gather(
        *(
            Worker(database, kinds=kinds or RUN_KINDS, tenant_id=tenant_id).run_until_idle()
            for _ in range(workers)
        )
    )
    return sum(done)
