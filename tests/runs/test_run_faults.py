"""Runs under faults, with real processes: a `crm-classifier worker` killed with SIGKILL in
the middle of a run, PostgreSQL restarted under a running worker, a worker stalled
(SIGSTOP) past its lease while it applies a run, a chunk that fails in the database, a
run cancelled while a worker classifies it.

Each test brings its tenant to a known state in-process — demo customers, the four seed
trees, an apply run as of an earlier day (so results have previous categories and a mix
of changes) and, as the reference, an uninterrupted dry run as of the day — then starts
an apply run as of the same day in worker processes and stops it at a gate (a row lock,
tests/runs/faults.py) to strike at a known point: some chunks recorded and one written,
not committed; or a tree's apply under way. A run that survives must store exactly the
reference's results and leave exactly those assignments; one that fails or is
cancelled must leave the assignments as the earlier run left them.
"""

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from app.core.db import Database
from app.core.settings import Settings
from app.demo import load_demo
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from app.main import create_app
from app.models import Assignment, AssignmentHistory, Job, OutboxEvent, Role, Run
from app.runs import tasks
from tests.conftest import OwnDatabase, TenantKeys, new_tenant
from tests.runs.conftest import AS_OF, TEMPLATES
from tests.runs.faults import (
    CHUNK_SIZE,
    Gate,
    RestartablePostgres,
    RunGate,
    gate_engine,
    pause_between_lease_renewals,
    terminate_other_backends,
    until,
    worker_processes,
)
from tests.runs.test_runs_api import all_results

CUSTOMERS = 80  # eight chunks
EARLIER = AS_OF - timedelta(days=200)
ENDED = ("succeeded", "failed", "cancelled")


@pytest.fixture(autouse=True)
def chunk_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs cut chunks as the worker processes do."""
    monkeypatch.setattr(
        tasks, "get_settings", lambda: Settings(database_url="unused", run_chunk_size=CHUNK_SIZE)
    )


@dataclass
class Stage:
    """A tenant on a database, classified once, with a reference run of the day."""

    url: str
    database: Database
    tenant: TenantKeys
    api: httpx.AsyncClient
    reference: dict[str, Any]  # the uninterrupted dry run, as GET /runs/{id} reads
    before: dict[tuple[str, str], frozenset[str]]  # assignments after the earlier run

    async def run_in_process(self) -> None:
        load_handlers()
        await Worker(self.database, tenant_id=self.tenant.id).run_until_idle()

    async def start(self, **body: Any) -> dict[str, Any]:
        started = await self.api.post("/api/v1/runs", json={"as_of": AS_OF.isoformat(), **body})
        assert started.status_code == 202, started.text
        return started.json()

    async def run(self, run_id: str) -> dict[str, Any]:
        got = await self.api.get(f"/api/v1/runs/{run_id}")
        assert got.status_code == 200, got.text
        return got.json()

    async def ended(self, run_id: str, *workers: Any) -> dict[str, Any]:
        """Poll the run until it has ended (failing at once if every worker died)."""

        async def check() -> dict[str, Any] | None:
            assert any(w.alive for w in workers), "every worker process died"
            assert not await self.stuck(run_id), (
                "the run has not ended and none of its jobs is left"
            )
            run = await self.run(run_id)
            return run if run["status"] in ENDED else None

        ended: dict[str, Any] = await until(check, f"run {run_id} to end")
        return ended

    async def stuck(self, run_id: str) -> bool:
        """Whether the run is unfinished with no job left to finish it (one snapshot)."""
        live = (
            select(Job.id)
            .where(
                Job.tenant_id == self.tenant.id,
                Job.payload["run_id"].astext == run_id,
                Job.status.in_(("queued", "running")),
            )
            .exists()
        )
        async with self.database.sessionmaker() as session:
            status = await session.scalar(
                select(Run.status).where(Run.id == uuid.UUID(run_id), ~live)
            )
        return status is not None and status not in ENDED

    async def assignments(self) -> dict[tuple[str, str], frozenset[str]]:
        async with self.database.sessionmaker() as session:
            rows = await session.execute(
                select(Assignment.customer_id, Assignment.tree_id, Assignment.category_id).where(
                    Assignment.tenant_id == self.tenant.id
                )
            )
            held: dict[tuple[str, str], set[str]] = {}
            for customer, tree, category in rows.all():
                held.setdefault((str(customer), str(tree)), set()).add(str(category))
        return {key: frozenset(value) for key, value in held.items()}

    async def history_rows(self, run_id: str) -> int:
        async with self.database.sessionmaker() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(AssignmentHistory)
                .where(
                    AssignmentHistory.tenant_id == self.tenant.id,
                    AssignmentHistory.run_id == uuid.UUID(run_id),
                )
            )
        return int(count or 0)

    async def events(self, run_id: str) -> Counter[str]:
        """The outbox events of a run, by kind."""
        async with self.database.sessionmaker() as session:
            kinds = await session.scalars(
                select(OutboxEvent.event_type).where(
                    OutboxEvent.tenant_id == self.tenant.id,
                    OutboxEvent.payload["run_id"].astext == run_id,
                )
            )
        return Counter(kinds)


@pytest.fixture
async def stage_on(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set a stage up on a database: `await stage_on(url, database, app)`."""
    clients: list[httpx.AsyncClient] = []

    async def build(url: str, database: Database, app: Any) -> Stage:
        tenant = await new_tenant(database)
        await load_demo(database.engine, tenant.id, customers=CUSTOMERS, seed=11, as_of=AS_OF)
        api = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers=tenant.headers(Role.ADMIN),
        )
        clients.append(api)
        for key in TEMPLATES:
            installed = await api.post(f"/api/v1/templates/{key}/install")
            assert installed.status_code == 201, installed.text
        stage = Stage(url, database, tenant, api, {}, {})
        earlier = await stage.start(as_of=EARLIER.isoformat())
        await stage.run_in_process()
        assert (await stage.run(earlier["id"]))["status"] == "succeeded"
        stage.before = await stage.assignments()
        reference = await stage.start(mode="dry_run")
        await stage.run_in_process()
        stage.reference = await stage.run(reference["id"])
        assert stage.reference["status"] == "succeeded"
        assert stage.reference["progress"]["chunks_total"] >= 4
        # The day's run moves some customers and leaves others: previous, changed and
        # rule keys all have something to get wrong.
        assert 0 < stage.reference["counts"]["changed"] < CUSTOMERS * len(TEMPLATES)
        return stage

    yield build
    for api in clients:
        await api.aclose()


@pytest.fixture
async def stage(own_database: OwnDatabase, stage_on: Any) -> Stage:
    """A stage on this module's own database: worker processes run every job queued there,
    and no other test's job is queued there."""
    built: Stage = await stage_on(own_database.url, own_database.database, own_database.app)
    return built


def _comparable(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(i["customer_id"], i["tree_id"]): i for i in items}


async def assert_same_as_reference(stage: Stage, run: dict[str, Any]) -> None:
    """The run stored what the uninterrupted run stored, counted each customer once, and
    applied exactly its results."""
    assert run["status"] == "succeeded", run
    progress = run["progress"]
    assert progress["done"] == progress["total"] == CUSTOMERS
    assert progress["chunks_done"] == progress["chunks_total"]
    assert run["counts"] == stage.reference["counts"]
    results = await all_results(stage.api, run["id"])
    expected = await all_results(stage.api, stage.reference["id"])
    assert len(results) == CUSTOMERS * len(TEMPLATES)
    assert _comparable(results) == _comparable(expected)
    assert await stage.assignments() == {
        key: frozenset(c["id"] for c in item["categories"])
        for key, item in _comparable(expected).items()
    }
    changed = sum(1 for i in expected if i["changed"])
    assert changed == run["counts"]["changed"]
    # One history row and one event per change: no chunk or tree was applied twice.
    assert await stage.history_rows(run["id"]) == changed
    events = await stage.events(run["id"])
    # A drift alert too when shares moved past the threshold since the earlier run (once).
    drifted = {"run.drift_detected": 1} if run["drift"] else {}
    assert events == {"run.completed": 1, "customer.classification_changed": changed, **drifted}


async def assert_left_as_before(stage: Stage, run: dict[str, Any]) -> None:
    """A run that did not succeed changed no assignment and wrote no history."""
    assert await stage.assignments() == stage.before
    assert await stage.history_rows(run["id"]) == 0
    results = await stage.api.get(f"/api/v1/runs/{run['id']}/results")
    assert results.status_code == 409, results.text


async def test_a_worker_killed_mid_run_is_replaced_and_the_run_stores_what_an_unbroken_one_does(
    stage: Stage,
) -> None:
    run = await stage.start()
    gate = RunGate(gate_engine(stage.url), run["id"])
    async with worker_processes(stage.url) as start_worker:
        first = start_worker()
        held = await gate.shut_with_a_chunk_waiting(chunks_done=2)
        await first.kill()
        await gate.open()
        assert (await stage.run(run["id"]))["progress"]["chunks_done"] == held["chunks_done"]
        second = start_worker()
        done = await stage.ended(run["id"], second)
    await gate.engine.dispose()
    await assert_same_as_reference(stage, done)


@dataclass
class Outage:
    """Takes the database away from under the worker and gives it back."""

    url: str
    server: RestartablePostgres | None  # None: a shared server, which must stay up

    async def strike(self) -> None:
        if self.server is not None:
            await self.server.restart()
        else:
            assert await terminate_other_backends(self.url) > 0


@pytest.fixture
async def outage_stage(own_database: OwnDatabase, stage_on: Any) -> AsyncIterator[Any]:
    """A stage on a server this test may restart: an embedded server of its own, or,
    with CRMC_TEST_DATABASE_URL, this module's database on the shared server.

    The module's database is a parameter, not `request.getfixturevalue`: asked for from
    inside this running fixture, pytest-asyncio would set the module fixture up on the
    running loop (RuntimeError) whenever this test happened to come first in the module."""
    if os.environ.get("CRMC_TEST_DATABASE_URL"):
        own = own_database
        yield await stage_on(own.url, own.database, own.app), Outage(own.url, None)
        return
    server, url = await RestartablePostgres.start("crmc_faults")
    database = Database.connect(url, pool_size=5, max_overflow=5)
    try:
        app = create_app(
            Settings(database_url=url, log_json=False, api_key_touch_seconds=0), database
        )
        yield await stage_on(url, database, app), Outage(url, server)
    finally:
        await database.dispose()
        await server.stop()


async def test_a_run_survives_postgresql_restarting_under_its_worker(
    outage_stage: tuple[Stage, Outage],
) -> None:
    """On the embedded test server (the default) the test runs a PostgreSQL server of its
    own and restarts it with an immediate stop: a crash, every connection cut, open
    transactions lost, recovery at start. With CRMC_TEST_DATABASE_URL the server is
    shared and must stay up: every connection to the test's database is ended with
    pg_terminate_backend instead, which the worker meets the same way."""
    stage, outage = outage_stage
    run = await stage.start()
    gate = RunGate(gate_engine(stage.url), run["id"])
    async with worker_processes(stage.url) as start_worker:
        worker = start_worker()
        await gate.shut_with_a_chunk_waiting(chunks_done=2)
        await outage.strike()
        await gate.open()
        done = await stage.ended(run["id"], worker)
        assert worker.alive
    await gate.engine.dispose()
    await assert_same_as_reference(stage, done)


async def test_a_chunk_failing_in_the_database_fails_the_run_with_its_error_and_applies_nothing(
    stage: Stage,
) -> None:
    """One customer's result cannot be written (a trigger raises, as a full disk or a
    broken constraint would): its chunk fails every attempt, the run fails, says why, and
    the assignments stay as the earlier run left them."""
    run = await stage.start()
    [customer, *_] = sorted(
        {i["customer_id"] for i in await all_results(stage.api, stage.reference["id"])}
    )
    engine = gate_engine(stage.url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE FUNCTION crmc_test_disk_full() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION '磁盘已满 (disk full)'; END $$"
            )
        )
        await conn.execute(
            text(
                "CREATE TRIGGER crmc_test_disk_full BEFORE INSERT ON run_results FOR EACH ROW "
                f"WHEN (NEW.run_id = '{uuid.UUID(run['id'])}' "
                f"AND NEW.customer_id = '{uuid.UUID(customer)}') "
                "EXECUTE FUNCTION crmc_test_disk_full()"
            )
        )
    try:
        async with worker_processes(stage.url) as start_worker:
            worker = start_worker()
            done = await stage.ended(run["id"], worker)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER crmc_test_disk_full ON run_results"))
            await conn.execute(text("DROP FUNCTION crmc_test_disk_full()"))
        await engine.dispose()
    assert done["status"] == "failed"
    assert done["error"] == {"type": "RaiseError", "message": "磁盘已满 (disk full)"}
    assert done["progress"]["chunks_done"] < done["progress"]["chunks_total"]
    await assert_left_as_before(stage, done)
    assert await stage.events(run["id"]) == {"run.failed": 1}


async def test_a_run_cancelled_while_a_worker_classifies_it_stops_within_a_chunk(
    stage: Stage,
) -> None:
    run = await stage.start()
    gate = RunGate(gate_engine(stage.url), run["id"])
    async with worker_processes(stage.url) as start_worker:
        worker = start_worker()
        await gate.shut_with_a_chunk_waiting(chunks_done=2)
        # The cancel waits for the chunk at the gate, which goes first.
        cancel = asyncio.create_task(stage.api.post(f"/api/v1/runs/{run['id']}/cancel"))
        await until(gate.two_waiting, "the cancel to wait behind the chunk")
        await gate.open()
        cancelled = await cancel
        assert cancelled.status_code == 202, cancelled.text
        at_cancel = (await stage.run(run["id"]))["progress"]["chunks_done"]
        done = await stage.ended(run["id"], worker)
    await gate.engine.dispose()
    assert done["status"] == "cancelled"
    # The chunk under way when the cancel came may finish; no chunk starts after it.
    assert at_cancel <= done["progress"]["chunks_done"] <= at_cancel + 1
    assert done["progress"]["chunks_done"] < done["progress"]["chunks_total"]
    await assert_left_as_before(stage, done)
    assert await stage.events(run["id"]) == {}


async def test_a_worker_stalled_past_its_lease_mid_apply_is_taken_over_and_each_tree_applied_once(
    stage: Stage,
) -> None:
    """The worker finalizing the run stops (SIGSTOP) in the middle of applying the first
    tree, its transaction open; a second worker takes the job over when the lease runs
    out and waits for that tree; then the first comes back. Whichever applies the tree,
    it is applied once, the first worker's outcome is dropped, and the run stores and
    applies exactly what the unbroken run computed."""
    run = await stage.start()
    first_tree = run["trees"][0]["tree_id"]
    moved = sorted(
        i["customer_id"]
        for i in await all_results(stage.api, stage.reference["id"], tree_id=first_tree)
        if i["changed"]
    )
    gate = Gate(gate_engine(stage.url))
    await gate.lock(
        "SELECT id FROM assignments WHERE tenant_id = :tenant AND tree_id = :tree "
        "AND customer_id = :customer FOR UPDATE",
        tenant=stage.tenant.id,
        tree=uuid.UUID(first_tree),
        customer=uuid.UUID(moved[-1]),  # the last the apply locks, in customer order
    )
    async with worker_processes(stage.url) as start_worker:
        stalled = start_worker()
        await until(gate.waiting, "the first tree's apply to come to the gate")
        await pause_between_lease_renewals(stalled, gate.engine)
        taker = start_worker()
        await until(gate.two_waiting, "the second worker to wait for the first tree")
        await gate.open()  # the stalled worker's statement ends; its transaction waits on
        stalled.resume()
        done = await stage.ended(run["id"], taker)
        assert stalled.alive
        assert taker.alive
    await gate.engine.dispose()
    await assert_same_as_reference(stage, done)
    async with stage.database.sessionmaker() as session:
        finalize = await session.scalar(
            select(Job).where(
                Job.tenant_id == stage.tenant.id,
                Job.kind == tasks.FINALIZE_JOB,
                Job.payload["run_id"].astext == run["id"],
            )
        )
    assert finalize is not None
    assert (finalize.status, finalize.attempts) == ("succeeded", 2)
