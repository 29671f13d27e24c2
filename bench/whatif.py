"""Instant what-if (issue 16, item 2): 20 threshold variants of a seed ruleset, previewed
over HTTP from the snapshot of the newest run.

    python bench/whatif.py --cluster DIR --database NAME [--variants 20] [--port 8791]

`--cluster` is an embedded server's directory (`DIR/pgdata`) holding a database that
bench/runs.py prepared (`DIR/prepared.json` names its tenant and as_of): 100k with
`bench/runs.py --prepare-only --customers 100000 --data-dir …`, 1M likewise. The
database is migrated to head, `crm-classifier serve` (with its job worker) started on
127.0.0.1, and then, over HTTP:

- unless a succeeded run over every customer as of that day exists: one apply run of
  every tree (`POST /api/v1/runs`, timed until it has succeeded) — its snapshot is what
  the previews read;
- one preview of the published 客户关系划分 version with `fresh: true` (the values
  aggregated from the activity, as every preview did before);
- `--variants` previews of unsaved bodies (`POST /api/v1/rules/preview`), the
  核心客户 amount threshold dragged from 30万 up in steps of 2万: p50 and p95 per call,
  and the CPU time per call of the API process and of the PostgreSQL server (which the
  load of a shared machine does not inflate); the load average before and after.

Figures are appended to bench/RESULTS.md.
"""

import argparse
import copy
import json
import signal
import statistics
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import psutil

from app.core.db import EmbeddedPostgres, upgrade_to_head
from app.rules.templates import RELATIONSHIP
from bench.common import postgres_cpu, record, run, serve, server_version
from bench.runs import Prepared, issue_key

POLL = 0.5


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _snapshot_run(client: httpx.Client, as_of: str) -> tuple[str, float | None]:
    """A succeeded run over every customer as of `as_of`: an existing one, else an apply
    run started now (and the seconds it took)."""
    runs = client.get("/api/v1/runs", params={"limit": 100}).json()["items"]
    for found in runs:
        usable = found["status"] == "succeeded" and found["scope"]["type"] == "all"
        if usable and found["as_of"] == as_of:
            return found["id"], None
    started = time.perf_counter()
    created = client.post("/api/v1/runs", json={"mode": "apply", "as_of": as_of})
    assert created.status_code == 202, created.text
    run_id = created.json()["id"]
    while True:
        state = client.get(f"/api/v1/runs/{run_id}").json()
        if state["status"] in ("succeeded", "failed", "cancelled"):
            assert state["status"] == "succeeded", state
            return run_id, time.perf_counter() - started
        time.sleep(POLL)


def _variant(core_wan: int) -> dict[str, Any]:
    body = copy.deepcopy(RELATIONSHIP["ruleset"])
    body["rules"][0]["when"] = f"近12个月交易金额 >= {core_wan}万 且 近6个月互动 >= 10"
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cluster", type=Path, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--variants", type=int, default=20)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    info = json.loads((args.cluster / "prepared.json").read_text())
    server = EmbeddedPostgres(args.cluster)
    url = server.url(args.database)
    run(upgrade_to_head(url))
    as_of = info["as_of"]
    prepared = Prepared(
        url, uuid.UUID(info["tenant_id"]), date.fromisoformat(as_of), info["customers"], ""
    )
    key = issue_key(prepared)
    api = serve(url, args.port, worker=True)
    api_process = psutil.Process(api.pid)
    base = f"http://127.0.0.1:{args.port}"
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=3600
        ) as client:
            run_id, run_seconds = _snapshot_run(client, as_of)
            rulesets = client.get("/api/v1/rulesets", params={"limit": 100}).json()["items"]
            trees = {t["id"]: t for t in client.get("/api/v1/category-trees").json()["items"]}
            [ruleset] = [r for r in rulesets if trees[r["tree_id"]]["key"] == "relationship"]
            version = ruleset["published_version"]
            whole = {"scope": {"type": "all"}, "as_of": as_of}
            started = time.perf_counter()
            fresh = client.post(
                f"/api/v1/rulesets/{ruleset['id']}/versions/{version}/preview",
                json={**whole, "fresh": True},
            )
            fresh_seconds = time.perf_counter() - started
            assert fresh.status_code == 200, fresh.text
            load_before = psutil.getloadavg()
            seconds, api_cpu, pg_cpu, sources = [], [], [], set()
            result: dict[str, Any] = {}
            for i in range(args.variants):
                body = {**whole, "tree_id": ruleset["tree_id"], "ruleset": _variant(30 + 2 * i)}
                api_before, pg_before = _cpu(api_process), postgres_cpu(server.pgdata)
                started = time.perf_counter()
                response = client.post("/api/v1/rules/preview", json=body)
                seconds.append(time.perf_counter() - started)
                api_cpu.append(_cpu(api_process) - api_before)
                pg_cpu.append(postgres_cpu(server.pgdata) - pg_before)
                assert response.status_code == 200, response.text
                result = response.json()
                sources.add((result["source"]["kind"], result["source"]["stale"]))
            load_after = psutil.getloadavg()
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(timeout=30)
    ordered = sorted(seconds)
    p50 = statistics.median(ordered)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    shares = ", ".join(f"{d['category']} {d['count']:,}" for d in result["distribution"])
    run_line = (
        f"apply run {run_id} over every tree to read from: {run_seconds:.1f} s"
        if run_seconds is not None
        else f"read the existing run {run_id}"
    )
    record(
        f"Instant what-if: {args.variants} threshold variants over HTTP, "
        f"{result['total']:,} customers",
        [
            f"database `{args.database}` ({info['note']}); {run_line}",
            f"before (values aggregated from the activity, `fresh: true`): "
            f"{fresh_seconds:.2f} s for one preview",
            f"`POST /api/v1/rules/preview`, 客户关系划分 with the 核心客户 threshold at "
            f"30万…{30 + 2 * (args.variants - 1)}万, scope all, source {sorted(sources)}: "
            f"**p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms** "
            f"(min {ordered[0] * 1000:.0f}, max {ordered[-1] * 1000:.0f})",
            f"CPU per call: API process {statistics.mean(api_cpu) * 1000:.0f} ms, "
            f"PostgreSQL {statistics.mean(pg_cpu) * 1000:.0f} ms (mean of {len(seconds)})",
            f"load average (1, 5, 15 min) before {tuple(round(x, 2) for x in load_before)}, "
            f"after {tuple(round(x, 2) for x in load_after)} on a machine shared with other "
            "sessions",
            f"last variant's distribution: {shares}; changed {result['changed']:,}",
        ],
        postgres=run(server_version(url)),
    )


if __name__ == "__main__":
    main()
