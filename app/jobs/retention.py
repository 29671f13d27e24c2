"""Forgetting finished jobs: a periodic duty deletes jobs that ended longer ago than
`job_retention_days`, in short batches so the queue is never locked for long.

A job whose row something else still reads is kept as long as that reader: an import and
a report export show their job's status and error (their `job_id` cascades), so their
jobs go when they go. Queued and running jobs are never touched.
"""

import uuid
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, exists, select

from app.core.db import Database
from app.core.settings import get_settings
from app.core.sql import rows_written
from app.jobs.worker import periodic_duty
from app.models import Import, Job, ReportExport

PRUNE_BATCH: Final = 5_000
MAX_BATCHES_PER_LOOK: Final = 20  # the rest wait for the next look, so jobs are not held up
FINISHED: Final = ("succeeded", "failed", "cancelled")


@periodic_duty("jobs.prune", every=timedelta(minutes=10))
async def prune_finished_jobs(
    database: Database, now: datetime, tenant_id: uuid.UUID | None
) -> int:
    """Delete finished jobs (of `tenant_id`, if given) that ended before `now` minus the
    retention and that no import or export reads; how many went."""
    cutoff = now - timedelta(days=get_settings().job_retention_days)
    doomed = select(Job.id).where(
        Job.status.in_(FINISHED),
        Job.finished_at < cutoff,
        ~exists().where(Import.job_id == Job.id),
        ~exists().where(ReportExport.job_id == Job.id),
    )
    if tenant_id is not None:
        doomed = doomed.where(Job.tenant_id == tenant_id)
    removed = 0
    for _ in range(MAX_BATCHES_PER_LOOK):
        async with database.sessionmaker() as session, session.begin():
            batch = doomed.limit(PRUNE_BATCH).with_for_update(skip_locked=True).scalar_subquery()
            deleted = await rows_written(session, delete(Job).where(Job.id.in_(batch)))
        removed += deleted
        if deleted < PRUNE_BATCH:
            break
    return removed
