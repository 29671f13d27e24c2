"""The jobs of outbound webhooks: dispatch (a tenant's outbox into deliveries) and send
(one endpoint's due deliveries). Both run in the worker, never on the API's loop.

A send job works for a bounded time and then queues its own continuation, so one slow
or dead receiver never holds a worker from other jobs for long.
"""

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx

from app.core.settings import get_settings
from app.deliveries import dispatch, repository, sender
from app.deliveries.addresses import Network
from app.deliveries.sending import Message, Outcome, client, deliver
from app.jobs.worker import JobContext, job_handler

# Look again this soon while a transaction older than the dispatch may add events.
FOLLOW_UP = timedelta(seconds=1)
SEND_BATCH = 50
SEND_CONCURRENCY = 10
SEND_SLICE_SECONDS = 30.0


@job_handler(repository.DISPATCH_JOB)
async def dispatch_outbox(context: JobContext) -> dict[str, Any] | None:
    """Turn the tenant's new outbox events into deliveries, batch by batch, waking the
    senders of the endpoints that got some."""
    database, tenant_id = context.database, context.tenant_id
    async with database.sessionmaker() as session, session.begin():
        started_before = await dispatch.next_transaction_id(session)
    events = 0
    while True:
        async with database.sessionmaker() as session, session.begin():
            batch = await dispatch.dispatch_batch(session, tenant_id)
            for endpoint_id in sorted(batch.endpoints):
                await repository.queue_job(
                    session, tenant_id, repository.SEND_JOB, {"endpoint_id": str(endpoint_id)}
                )
        events += batch.events
        if not batch.more:
            break
    async with database.sessionmaker() as session, session.begin():
        waiting = await dispatch.held_back(session, tenant_id)
        older_running = await repository.outbox_horizon(session) < started_before
        if waiting or older_running:
            await repository.queue_job(
                session, tenant_id, repository.DISPATCH_JOB, {}, delay=FOLLOW_UP
            )
    return {"events": events}


@job_handler(repository.SEND_JOB)
async def send_deliveries(context: JobContext) -> dict[str, Any] | None:
    """POST the endpoint's due deliveries, a batch at a time (first pending event of
    each customer only), record every attempt, and queue the next run of this job for
    when the next delivery falls due."""
    database, tenant_id = context.database, context.tenant_id
    endpoint_id = uuid.UUID(context.payload["endpoint_id"])
    settings = get_settings()
    allowed = list(settings.webhook_allowed_networks)
    timeout = settings.webhook_timeout_seconds
    deadline = time.monotonic() + SEND_SLICE_SECONDS
    sent = 0
    async with client(timeout) as http:
        while True:
            if time.monotonic() > deadline:
                async with database.sessionmaker() as session, session.begin():
                    await repository.queue_job(
                        session, tenant_id, repository.SEND_JOB, context.payload
                    )
                return {"sent": sent, "continued": True}
            async with database.sessionmaker() as session, session.begin():
                endpoint = await repository.endpoint(session, tenant_id, endpoint_id)
                if endpoint is None or not endpoint.enabled:
                    return {"sent": sent}
                url, secret = endpoint.url, endpoint.secret
                claimed = await sender.claim_due(session, tenant_id, endpoint_id, SEND_BATCH)
            if not claimed:
                break

            outcomes = await _send_all(http, url, secret, claimed, allowed, timeout)
            sent += len(claimed)
            async with database.sessionmaker() as session, session.begin():
                await sender.record(session, tenant_id, claimed, outcomes)
                if any(outcome.gone for outcome in outcomes):
                    await sender.disable_gone(session, tenant_id, endpoint_id)
                    return {"sent": sent, "gone": True}
    async with database.sessionmaker() as session, session.begin():
        wait = await sender.wait_for_next(session, tenant_id, endpoint_id)
        if wait is not None:
            await repository.queue_job(
                session, tenant_id, repository.SEND_JOB, context.payload, delay=wait
            )
    return {"sent": sent}


async def _send_all(
    http: httpx.AsyncClient,
    url: str,
    secret: str,
    claimed: list[sender.Claimed],
    allowed: list[Network],
    timeout_seconds: float,
) -> list[Outcome]:
    # Claimed deliveries are of different customers (or of none), so their order
    # between each other does not matter: they go out side by side.
    limit = asyncio.Semaphore(SEND_CONCURRENCY)

    async def attempt(item: sender.Claimed) -> Outcome:
        message = Message(str(item.delivery_id), item.event_type, item.occurred_at, item.data)
        async with limit:
            return await deliver(http, url, secret, message, allowed, timeout_seconds)

    return list(await asyncio.gather(*(attempt(item) for item in claimed)))
