"""Schedule tests: the run fixtures (demo customers, the seed trees), and a worker of one
tenant that goes by a clock the test sets."""

import uuid
from datetime import datetime

from app.core.db import Database
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from tests.runs.conftest import classified

__all__ = ["classified", "work_at"]


async def work_at(database: Database, tenant_id: uuid.UUID, now: datetime) -> int:
    """Run the tenant's periodic duties and jobs as a worker would at `now`, until idle."""
    load_handlers()
    return await Worker(database, tenant_id=tenant_id, clock=lambda: now).run_until_idle()
