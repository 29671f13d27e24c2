"""The reclassification job of inbound events (app/webhooks/reclassify.py)."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.request_context import current_request_id
from app.jobs.worker import JobContext, job_handler, on_job_failure
from app.models import Job
from app.webhooks.reclassify import fail_waiting, reclassify_waiting
from app.webhooks.service import RECLASSIFY_JOB


@job_handler(RECLASSIFY_JOB)
async def reclassify_for_events(context: JobContext) -> dict[str, Any] | None:
    """Reclassify one customer for the events waiting on it, in one transaction."""
    customer_id = uuid.UUID(context.payload["customer_id"])
    # Audit events of the reclassification carry the job as their correlation id.
    current_request_id.set(f"job:{context.job.id}")
    async with context.database.sessionmaker() as session, session.begin():
        done = await reclassify_waiting(session, context.tenant_id, customer_id)
    return {"events": done.events, "changed_trees": done.changed_trees, "failure": done.failure}


@on_job_failure(RECLASSIFY_JOB)
async def fail_events(session: AsyncSession, job: Job, error: dict[str, Any]) -> None:
    """The events waiting on the customer fail with the job's error."""
    failure = f"{error.get('type', 'Error')}: {error.get('message', '')}"[:2000]
    await fail_waiting(session, job.tenant_id, uuid.UUID(job.payload["customer_id"]), failure)
