"""The API stays responsive while imports run: latency of `crm-classifier serve` idle and
under a large XLSX and a large CSV import.

A fresh database gets a tenant with `--customers` customers; `crm-classifier serve` is
started with its job worker (a supervised child process). With `--clients` concurrent
clients, each for `--seconds`, the p50/p99/max latency of `GET /health/live` and of
`GET /api/v1/customers?limit=50` are measured idle, then again while an XLSX of
`--xlsx-rows` customers (~8 MB at 125,000) and a CSV of `--csv-rows` customers are
imported by the worker. Besides, a liveness probe — one client in a process of its own,
asking `/health/live` every 50 ms as an orchestrator would — is measured in windows of
`--seconds` when the 20 clients are quiet (idle, and between their rounds during the
imports): the 20 clients measure throughput under load (their own queueing counts), the
probe whether the API answers at once while the worker works. Goals (issue 11):
`/health/live` p99 ≤ 50 ms (the probe), customers p99 within 2× of idle. The load
average at the start is printed and recorded: the machine is shared, so figures taken on
a busy machine say so.

    python bench/responsiveness.py [--customers 20000] [--xlsx-rows 125000]
                                   [--csv-rows 300000] [--clients 20] [--seconds 15]
                                   [--data-dir DIR]
    python bench/responsiveness.py --probe URL OUT   (the probe alone, until SIGTERM)
"""

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import signal
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.db import Database
from app.models import Role
from app.tenants import service as tenant_service
from bench.common import add_data_dir, fresh_database, record, serve, server_version

HEADER = ["客户编号", "客户名称", "所属行业", "员工人数", "年营收", "所在地区", "客户阶段",
          "联系人", "联系人职务", "合作开始日期", "客户标签"]  # fmt: skip
INDUSTRIES = ["制造业-电子", "制造业-机械", "批发零售", "信息技术-软件", "金融-银行", "建筑业"]
REGIONS = ["上海", "北京", "广州", "深圳", "杭州", "成都", "武汉"]


def customer_rows(prefix: str, count: int, seed: int) -> list[list[object]]:
    rng = random.Random(seed)
    return [
        [f"{prefix}{i:07d}", f"客户{i}号{rng.choice(['科技', '贸易', '实业'])}有限公司",
         rng.choice(INDUSTRIES), rng.randrange(1, 2000), rng.randrange(10_000, 10**8) / 100,
         rng.choice(REGIONS), rng.choice(["签约", "潜在"]), f"联系人{rng.randrange(1000)}",
         rng.choice(["采购经理", "总经理", "财务"]),
         dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(3000)),
         rng.choice(["老客户", "重点客户、老客户", None])]
        for i in range(count)
    ]  # fmt: skip


def write_xlsx(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    if path.exists():
        return
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("客户")
    sheet.append(HEADER)
    for row in customer_rows("X", rows, 1):
        sheet.append(row)
    partial = path.with_suffix(".partial")
    workbook.save(partial)
    partial.rename(path)


def write_csv(path: Path, rows: int) -> None:
    import csv

    if path.exists():
        return
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(customer_rows("V", rows, 2))
    partial.rename(path)


async def make_tenant(url: str) -> str:
    database = Database.connect(url)
    async with database.sessionmaker() as session, session.begin():
        tenant = await tenant_service.create_tenant(session, "bench", "压测租户")
        _, key = await tenant_service.create_api_key(
            session, tenant.id, name="bench", role=Role.EDITOR, delegating=False,
            created_by="bench",
        )  # fmt: skip
    await database.dispose()
    return key


async def latencies(
    http: httpx.AsyncClient, path: str, clients: int, seconds: float, until: asyncio.Event | None
) -> list[float]:
    """Each client asks `path` again and again for `seconds` (or until `until` is set)."""
    found: list[float] = []
    deadline = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < deadline and not (until and until.is_set()):
            start = time.perf_counter()
            try:
                response = await http.get(path)
            except httpx.TransportError:
                # A keep-alive connection closed by the server as it was reused: asked
                # again on a new one; the time of both counts.
                response = await http.get(path)
            found.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text

    await asyncio.gather(*(client() for _ in range(clients)))
    return found


def probe(url: str, out: Path) -> None:
    """Ask `url` every 50 ms until SIGTERM; then write [[time, seconds], …] to `out`."""
    found: list[tuple[float, float]] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    with httpx.Client(timeout=120) as http:
        while not stopping:
            start = time.perf_counter()
            response = http.get(url)
            found.append((time.time(), time.perf_counter() - start))
            assert response.status_code == 200, response.text
            time.sleep(max(0.0, 0.05 - (time.perf_counter() - start)))
    out.write_text(json.dumps(found))


def probed(found: list[list[float]], since: float, until: float) -> list[float]:
    return [seconds for at, seconds in found if since <= at <= until]


def summary(name: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return (
        f"{name}: p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms "
        f"({len(ms):,} requests)"
    )


def p99(values: list[float]) -> float:
    ms = sorted(values)
    return ms[min(len(ms) - 1, int(len(ms) * 0.99))] * 1000


async def measure(args: argparse.Namespace, base: str, key: str) -> list[str]:
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    lines: list[str] = []
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=120
    ) as http:
        rows = customer_rows("B", args.customers, 3)
        for start in range(0, len(rows), 10_000):
            items = [dict(zip(("code", "name", "industry"), r[:3], strict=True))
                     for r in rows[start : start + 10_000]]  # fmt: skip
            response = await http.post("/api/v1/customers/bulk", json={"items": items})
            assert response.status_code == 200, response.text
        probe_out = args.data_dir / "responsive-probe.json"
        prober = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--probe", f"{base}/health/live", str(probe_out)
        )
        quiet: dict[str, list[tuple[float, float]]] = {"idle": [], "busy": []}

        async def probe_alone(phase: str, until: asyncio.Event | None) -> None:
            since = time.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for((until or asyncio.Event()).wait(), args.seconds)
            quiet[phase].append((since, time.time()))

        await probe_alone("idle", None)
        idle_live = await latencies(http, "/health/live", args.clients, args.seconds, None)
        idle_list = await latencies(
            http, "/api/v1/customers?limit=50", args.clients, args.seconds, None
        )
        lines += [summary("idle /health/live", idle_live),
                  summary("idle GET /customers?limit=50", idle_list)]  # fmt: skip

        xlsx, csv_file = (
            args.data_dir / f"responsive-{args.xlsx_rows}.xlsx",
            args.data_dir / f"responsive-{args.csv_rows}.csv",
        )
        imports = []
        for path, kind in ((xlsx, "xlsx"), (csv_file, "csv")):
            with path.open("rb") as content:
                response = await http.post(
                    "/api/v1/imports", data={"entity": "customers"},
                    files={"file": (path.name, content)}, timeout=600,
                )  # fmt: skip
            assert response.status_code == 202, response.text
            imports.append((kind, path, response.json()["id"]))
        started = time.monotonic()
        done = asyncio.Event()
        finished: dict[str, float] = {}

        async def watch() -> None:
            while len(finished) < len(imports):
                for kind, _, import_id in imports:
                    if kind in finished:
                        continue
                    report = (await http.get(f"/api/v1/imports/{import_id}")).json()
                    if report["status"] in ("succeeded", "failed"):
                        assert report["status"] == "succeeded", report
                        finished[kind] = time.monotonic() - started
                await asyncio.sleep(0.5)
            done.set()

        watcher = asyncio.create_task(watch())
        busy_live, busy_list = [], []
        while not done.is_set():
            await probe_alone("busy", done)
            busy_live += await latencies(http, "/health/live", args.clients, args.seconds, done)
            busy_list += await latencies(
                http, "/api/v1/customers?limit=50", args.clients, args.seconds, done
            )
        await watcher
        prober.terminate()
        await prober.wait()
        probes = json.loads(probe_out.read_text())
        idle_probe = [t for window in quiet["idle"] for t in probed(probes, *window)]
        busy_probe = [t for window in quiet["busy"] for t in probed(probes, *window)]
        lines += [
            summary("probe alone (1 client, every 50 ms) idle /health/live", idle_probe),
            summary("probe alone (1 client, every 50 ms) during imports /health/live", busy_probe),
            summary("during imports /health/live", busy_live),
            summary("during imports GET /customers?limit=50", busy_list),
            f"imports: XLSX {xlsx.stat().st_size / 1e6:.1f} MB ({args.xlsx_rows:,} rows) done "
            f"after {finished['xlsx']:.0f} s, CSV {csv_file.stat().st_size / 1e6:.1f} MB "
            f"({args.csv_rows:,} rows) after {finished['csv']:.0f} s (one worker, in turn)",
            f"goals: /health/live p99 {p99(busy_probe):.1f} ms by the probe (≤ 50), customers p99 "
            f"{p99(busy_list) / p99(idle_list):.2f}× idle (≤ 2)",
        ]
    return lines


def main() -> None:
    if sys.argv[1:2] == ["--probe"]:
        probe(sys.argv[2], Path(sys.argv[3]))
        return
    parser = add_data_dir(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--xlsx-rows", type=int, default=125_000)
    parser.add_argument("--csv-rows", type=int, default=300_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args()
    load = os.getloadavg()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    write_xlsx(args.data_dir / f"responsive-{args.xlsx_rows}.xlsx", args.xlsx_rows)
    write_csv(args.data_dir / f"responsive-{args.csv_rows}.csv", args.csv_rows)
    url, embedded = asyncio.run(fresh_database("bench_responsive", args.data_dir))
    key = asyncio.run(make_tenant(url))
    server = serve(url, args.port, worker=True)
    try:
        lines = asyncio.run(measure(args, f"http://127.0.0.1:{args.port}", key))
        postgres = asyncio.run(server_version(url))
    finally:
        server.terminate()
        server.wait(60)
        if embedded is not None:
            embedded.stop()
    lines.insert(0, f"load average at start {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
                    f"(1/5/15 min; the 2 cores are shared); {args.clients} clients")  # fmt: skip
    record("API responsiveness during imports (serve + worker process)", lines, postgres=postgres)


if __name__ == "__main__":
    main()
