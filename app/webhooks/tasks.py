"""The reclassification jobs of inbound events (app/webhooks/reclassify.py), done in
batches: a worker claims up to `BATCH` of one tenant's queued jobs at once (one per
customer) and reclassifies their customers together in one transaction. Should that
transaction fail, each job is done again on its own, in a transaction of its own, so one
customer that cannot be reclassified holds back none of the others: its job alone fails
(and is retried, and at last fails its events with the reason).
"""

import logging
import uuid
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.request_context import current_request_id
from app.jobs.worker import BatchContext, JobOutcome, job_batch_handler, on_job_failure
from app.models import Job
from app.webhooks.reclassify import (
    Reclassification,
    fail_waiting,
    reclassify_waiting,
    reclassify_waiting_many,
)
from app.webhooks.service import RECLASSIFY_JOB

log = logging.getLogger(__name__)

# Customers reclassified in one transaction: enough that the fixed cost of a batch (the
# claim, the rules, one statement per kind of read and write) is spread thin, few enough
# that a batch takes a fraction of the second an event may wait.
BATCH: Final = 50


@job_batch_handler(RECLASSIFY_JOB, size=BATCH)
async def reclassify_for_events(context: BatchContext) -> dict[uuid.UUID, JobOutcome]:
    """Reclassify the jobs' customers for the events waiting on them, together; one by
    one if that fails."""
    customers = {job.id: uuid.UUID(job.payload["customer_id"]) for job in context.jobs}
    # Audit events of a customer's reclassification carry its job as their correlation id.
    request_ids = {customers[job.id]: f"job:{job.id}" for job in context.jobs}
    try:
        async with context.database.sessionmaker() as session, session.begin():
            done = await reclassify_waiting_many(
                session, context.tenant_id, list(customers.values()), request_ids
            )
    except Exception:
        log.warning(
            "a batch of %d reclassifications failed; doing them one by one",
            len(context.jobs),
            exc_info=True,
        )
    else:
        return _results(context.jobs, customers, done)
    outcomes: dict[uuid.UUID, JobOutcome] = {}
    for job in context.jobs:
        try:
            outcomes[job.id] = await _one(context, job, customers[job.id])
        except Exception as exc:
            outcomes[job.id] = exc
    return outcomes


async def _one(context: BatchContext, job: Job, customer_id: uuid.UUID) -> dict[str, Any]:
    current_request_id.set(f"job:{job.id}")
    async with context.database.sessionmaker() as session, session.begin():
        done = await reclassify_waiting(session, context.tenant_id, customer_id)
    return _result(done)


def _results(
    jobs: list[Job],
    customers: dict[uuid.UUID, uuid.UUID],
    done: dict[uuid.UUID, Reclassification],
) -> dict[uuid.UUID, JobOutcome]:
    """Each job's result; of two jobs of one customer (one taken over from a lost worker,
    one queued since), the first says what was done and the other that nothing was left."""
    outcomes: dict[uuid.UUID, JobOutcome] = {}
    reported: set[uuid.UUID] = set()
    for job in jobs:
        customer_id = customers[job.id]
        first = customer_id not in reported
        reported.add(customer_id)
        outcomes[job.id] = _result(done[customer_id] if first else Reclassification(0, 0))
    return outcomes


def _result(done: Reclassification) -> dict[str, Any]:
    return {"events": done.events, "changed_trees": done.changed_trees, "failure": done.failure}


@on_job_failure(RECLASSIFY_JOB)
async def fail_events(session: AsyncSession, job: Job, error: dict[str, Any]) -> None:
    """The events waiting on the customer fail with the job's error."""
    failure = f"{error.get('type', 'Error')}: {error.get('message', '')}"[:2000]
    await fail_waiting(session, job.tenant_id, uuid.UUID(job.payload["customer_id"]), failure)
