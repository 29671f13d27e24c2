"""Runs under pressure: two workers, a failing chunk, cancelling, two apply runs on one
tree, a tree edited while a run waits, bad requests."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update

from app.core.db import Database
from app.core.settings import Settings
from app.jobs.worker import JobContext
from app.models import Assignment, AssignmentHistory, Job, OutboxEvent, Role, RunResult, RunTree
from app.runs import classify, tasks
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem
from tests.runs.conftest import run_jobs
from tests.runs.faults import until
from tests.runs.test_runs_api import all_results, finished, start


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 7 customers, so a run of 60 has nine."""
    monkeypatch.setattr(
        tasks, "get_settings", lambda: Settings(database_url="unused", run_chunk_size=7)
    )


async def _stored(database: Database, run_id: str) -> dict[uuid.UUID, tuple[Any, ...]]:
    async with database.sessionmaker() as session:
        rows = await session.scalars(select(RunResult).where(RunResult.run_id == uuid.UUID(run_id)))
        return {
            r.customer_id: (r.outcome, r.nums, r.ints, r.dates, r.texts, r.bools, r.lists)
            for r in rows
        }


async def _assignments(database: Database, tenant: TenantKeys) -> int:
    async with database.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Assignment).where(Assignment.tenant_id == tenant.id)
        )
        return int(count or 0)


async def _retry_now(database: Database) -> None:
    # Failed attempts wait (backoff) before they run again; the test need not.
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Job).where(Job.status == "queued").values(run_after=func.now())
        )


async def test_two_workers_share_a_run_and_store_what_one_worker_stores(
    tenant: TenantKeys,
    api: httpx.AsyncClient,
    database: Database,
    classified: dict[str, str],
    small_chunks: None,
) -> None:
    alone = await start(api, mode="dry_run")
    await run_jobs(database, tenant.id, workers=1)
    shared = await start(api, mode="dry_run")
    await run_jobs(database, tenant.id, workers=2)
    done = (await api.get(f"/api/v1/runs/{shared['id']}")).json()
    assert done["status"] == "succeeded"
    assert done["progress"]["chunks_total"] == done["progress"]["chunks_done"] == 9
    assert await _stored(database, shared["id"]) == await _stored(database, alone["id"])


async def test_a_failing_chunk_fails_the_run_with_its_error_and_applies_nothing(
    api: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    classified: dict[str, str],
    small_chunks: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = classify.classify_chunk
    calls = {"n": 0}

    async def flaky(conn: Any, plan: Any, customers: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:  # the third chunk fails every attempt from now on
            calls["n"] -= 1
            raise RuntimeError("磁盘已满 (disk full)")
        return await real(conn, plan, customers)

    monkeypatch.setattr(tasks, "classify_chunk", flaky)
    run = await start(api)
    for _ in range(5):
        await run_jobs(database, tenant.id)
        await _retry_now(database)
    done = (await api.get(f"/api/v1/runs/{run['id']}")).json()
    assert done["status"] == "failed"
    assert done["error"] == {"type": "RuntimeError", "message": "磁盘已满 (disk full)"}
    assert await _assignments(database, tenant) == 0
    results = await api.get(f"/api/v1/runs/{run['id']}/results")
    assert_problem(results, 409)
    async with database.sessionmaker() as session:
        events = list(
            await session.scalars(
                select(OutboxEvent.event_type).where(OutboxEvent.tenant_id == tenant.id)
            )
        )
    assert events == ["run.failed"]


async def test_cancelling_a_running_run_stops_it_within_a_chunk_and_applies_nothing(
    api: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    classified: dict[str, str],
    small_chunks: None,
) -> None:
    run = await start(api)
    await run_jobs(database, tenant.id, kinds=["run.start"])
    cancel = await api.post(f"/api/v1/runs/{run['id']}/cancel")
    assert cancel.status_code == 202, cancel.text
    assert cancel.json()["cancel_requested"] is True
    await run_jobs(database, tenant.id)
    done = (await api.get(f"/api/v1/runs/{run['id']}")).json()
    assert done["status"] == "cancelled"
    assert done["progress"]["chunks_done"] == 0
    assert await _assignments(database, tenant) == 0
    again = await api.post(f"/api/v1/runs/{run['id']}/cancel")
    assert_problem(again, 409)


async def test_a_queued_run_is_cancelled_at_once(
    tenant: TenantKeys, api: httpx.AsyncClient, database: Database, classified: dict[str, str]
) -> None:
    run = await start(api)
    cancel = await api.post(f"/api/v1/runs/{run['id']}/cancel")
    assert cancel.json()["status"] == "cancelled"
    await run_jobs(database, tenant.id)
    assert (await api.get(f"/api/v1/runs/{run['id']}")).json()["status"] == "cancelled"


async def test_a_second_apply_run_on_a_tree_waits_for_the_first(
    tenant: TenantKeys, api: httpx.AsyncClient, database: Database, classified: dict[str, str]
) -> None:
    first = await start(api, tree_ids=[classified["value"]])
    second = await start(api, tree_ids=[classified["value"], classified["risk"]])
    await run_jobs(database, tenant.id, kinds=["run.start"])
    waiting = (await api.get(f"/api/v1/runs/{second['id']}")).json()
    assert waiting["status"] == "waiting"
    assert waiting["waiting_for"] == first["id"]
    await run_jobs(database, tenant.id)
    assert (await api.get(f"/api/v1/runs/{first['id']}")).json()["status"] == "succeeded"
    await _retry_now(database)
    done = await finished(api, database, second["id"])
    assert done["status"] == "succeeded"
    assert done["counts"]["trees"][0]["changed"] == 0  # the first run applied them


async def test_a_category_deleted_while_a_run_waits_fails_the_run_clearly(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, classified: dict[str, str]
) -> None:
    tree_id = classified["risk"]
    run = await start(api, tree_ids=[tree_id])
    [ruleset] = (await api.get("/api/v1/rulesets", params={"tree_id": tree_id})).json()["items"]
    body = (await api.get(f"/api/v1/rulesets/{ruleset['id']}/versions/1")).json()["body"]
    body["rules"] = [r for r in body["rules"] if r["category"] != "COMPLAINT"]
    draft = await api.post(f"/api/v1/rulesets/{ruleset['id']}/versions", json=body)
    assert draft.status_code == 201, draft.text
    published = await api.post(f"/api/v1/rulesets/{ruleset['id']}/versions/2/publish")
    assert published.status_code == 200, published.text
    categories = (await api.get(f"/api/v1/category-trees/{tree_id}/categories")).json()["items"]
    complaint = next(c for c in categories if c["code"] == "COMPLAINT")
    deleted = await api.delete(f"/api/v1/categories/{complaint['id']}")
    assert deleted.status_code == 200, deleted.text
    for _ in range(4):
        await run_jobs(database, tenant.id)
        await _retry_now(database)
    done = (await api.get(f"/api/v1/runs/{run['id']}")).json()
    assert done["status"] == "failed"
    assert "COMPLAINT" in done["error"]["message"]
    assert done["trees"][0]["version"] == 1
    assert await _assignments(database, tenant) == 0


async def test_starting_a_run_is_idempotent_with_a_key(
    api: httpx.AsyncClient, classified: dict[str, str]
) -> None:
    headers = {"Idempotency-Key": "run-2026-11-25"}
    body = {"as_of": "2026-11-25", "tree_ids": [classified["value"]]}
    first = await api.post("/api/v1/runs", json=body, headers=headers)
    again = await api.post("/api/v1/runs", json=body, headers=headers)
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = (await api.get("/api/v1/runs")).json()["items"]
    assert [r["id"] for r in listed] == [first.json()["id"]]


async def test_bad_run_requests_are_422_and_start_nothing(
    api: httpx.AsyncClient, classified: dict[str, str]
) -> None:
    unknown = str(uuid.uuid4())
    response = await api.post("/api/v1/runs", json={"tree_ids": [classified["value"], unknown]})
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == ["body", "tree_ids", 1]
    bad_filter = await api.post(
        "/api/v1/runs", json={"scope": {"type": "filter", "when": "no_such_field > 1"}}
    )
    assert assert_problem(bad_filter, 422)["errors"][0]["loc"][:3] == ["body", "scope", "when"]
    mixed = await api.post("/api/v1/runs", json={"scope": {"type": "all", "customer_ids": []}})
    assert_problem(mixed, 422)
    assert (await api.get("/api/v1/runs")).json()["items"] == []


async def test_viewers_read_runs_and_editors_start_them(
    client: httpx.AsyncClient, tenant: TenantKeys, classified: dict[str, str]
) -> None:
    refused = await client.post("/api/v1/runs", json={}, headers=tenant.headers(Role.VIEWER))
    assert_problem(refused, 403)
    started = await client.post("/api/v1/runs", json={}, headers=tenant.headers(Role.EDITOR))
    assert started.status_code == 202
    read = await client.get(
        f"/api/v1/runs/{started.json()['id']}", headers=tenant.headers(Role.VIEWER)
    )
    assert read.status_code == 200


async def test_another_tenants_run_is_a_404(
    api: httpx.AsyncClient, make_tenant: Any, classified: dict[str, str]
) -> None:
    run = await start(api)
    other = await make_tenant()
    for method, path in (("GET", ""), ("GET", "/results"), ("POST", "/cancel")):
        response = await api.request(
            method, f"/api/v1/runs/{run['id']}{path}", headers=other.headers(Role.ADMIN)
        )
        assert_problem(response, 404)


async def test_results_filter_by_tree_category_and_flags_and_page_without_repeats(
    api: httpx.AsyncClient, database: Database, classified: dict[str, str]
) -> None:
    run = await start(api)
    await finished(api, database, run["id"])
    tree_id = classified["relationship"]
    everything = await all_results(api, run["id"], tree_id=tree_id)
    assert len(everything) == 60
    codes = {i["category"]["code"] for i in everything}
    for code in codes:
        some = await all_results(api, run["id"], tree_id=tree_id, category=code)
        assert {i["category"]["code"] for i in some} == {code}
        assert len(some) == sum(1 for i in everything if i["category"]["code"] == code)
    borderline = await all_results(api, run["id"], tree_id=tree_id, borderline="true")
    assert {i["customer_id"] for i in borderline} == {
        i["customer_id"] for i in everything if i["borderline"]
    }
    needs_tree = await api.get(f"/api/v1/runs/{run['id']}/results", params={"category": "CORE"})
    assert_problem(needs_tree, 422)


async def test_old_runs_are_pruned_but_not_the_ones_assignments_point_to(
    api: httpx.AsyncClient,
    database: Database,
    classified: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        tasks, "get_settings", lambda: Settings(database_url="unused", run_retention=1)
    )
    value = [classified["value"]]
    applied = await start(api, tree_ids=value)  # every assignment points to this one
    await finished(api, database, applied["id"])
    dry = [await start(api, tree_ids=value, mode="dry_run") for _ in range(3)]
    await finished(api, database, dry[-1]["id"])  # runs the jobs of all three
    listed = {r["id"] for r in (await api.get("/api/v1/runs")).json()["items"]}
    # The newest run of the tree is kept, and so is the one the assignments came from.
    assert listed == {applied["id"], dry[-1]["id"]}
    async with database.sessionmaker() as session:
        left = await session.scalar(
            select(func.count())
            .select_from(RunResult)
            .where(RunResult.run_id.in_([uuid.UUID(r["id"]) for r in dry[:-1]]))
        )
    assert left == 0
    assert (await api.get(f"/api/v1/runs/{applied['id']}/results")).status_code == 200


async def test_two_workers_finalizing_one_run_apply_each_tree_once(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, classified: dict[str, str]
) -> None:
    """A worker stalled past its lease comes back while the worker that took its finalize
    job over applies the same run: whichever comes second to a tree finds it applied."""
    run = await start(api)
    await run_jobs(database, tenant.id, kinds=["run.start", "run.chunk"])
    async with database.sessionmaker() as session:
        job = await session.scalar(
            select(Job).where(Job.tenant_id == tenant.id, Job.kind == tasks.FINALIZE_JOB)
        )
    assert job is not None
    async with database.engine.connect() as gate:
        # Both finalizers get to the first tree, then wait here.
        await gate.execute(
            select(RunTree.position)
            .where(RunTree.run_id == uuid.UUID(run["id"]), RunTree.position == 0)
            .with_for_update(key_share=True)  # FOR NO KEY UPDATE
        )
        both = asyncio.gather(
            tasks.finalize_run(JobContext(job, database, "stalled")),
            tasks.finalize_run(JobContext(job, database, "taker")),
        )

        async def both_wait() -> bool:
            async with database.engine.connect() as conn:
                waiting = await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND cardinality(pg_blocking_pids(pid)) > 0"
                    )
                )
            return waiting == 2

        await until(both_wait, "both finalizers to wait")
        await gate.rollback()
        await both
    done = (await api.get(f"/api/v1/runs/{run['id']}")).json()
    assert done["status"] == "succeeded"
    assert done["counts"]["changed"] == 240  # nobody was assigned before
    assert all(item["changed"] for item in await all_results(api, run["id"]))
    assert await _assignments(database, tenant) == 240
    async with database.sessionmaker() as session:
        history = await session.scalar(
            select(func.count())
            .select_from(AssignmentHistory)
            .where(AssignmentHistory.run_id == uuid.UUID(run["id"]))
        )
    assert history == 240
