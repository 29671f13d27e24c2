"""Reading a run at scale (issue 12): bench/runs.py's read measurements alone, over a run
that already exists, so they can be repeated on a quiet machine without the hour of
applies before them.

    python bench/run_reads.py --customers 1000000 [--pages 200] [--data-dir DIR]

The database is the one bench/runs.py prepared (`bench_runs_<customers>` in the data
directory); it must hold a succeeded run over every customer (bench/runs.py or
bench/whatif.py leave one). `crm-classifier serve` (without its worker) is started on
127.0.0.1 and measured over HTTP, one client:

- `GET /api/v1/runs/{id}/results?limit=500`, paging through the newest such run after
  three warm-up pages: p50 and p99, and the API process' CPU per page;
- `GET /api/v1/customers/{id}/classifications` over 200 random customers after 10
  warm-up requests: p50 and p99, and the API process' CPU per request.

Goals (issue 12): results page p99 ≤ 100 ms; classifications p99 ≤ 20 ms. Figures are
appended to bench/RESULTS.md with the load average before and after.
"""

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import add_data_dir, record, server_version
from bench.runs import (
    _load_average,
    _scalars,
    api,
    classifications_latency,
    prepare,
    results_latency,
)

RUN_SQL = (
    "SELECT id::text FROM runs WHERE tenant_id = :t AND status = 'succeeded' "
    "AND scope->>'type' = 'all' ORDER BY created_at DESC LIMIT 1"
)


def main() -> None:
    parser = add_data_dir(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    prepared, _server = prepare(args.data_dir, args.customers, 0)
    [run_id] = asyncio.run(_scalars(prepared.url, RUN_SQL, t=prepared.tenant_id)) or [None]
    if run_id is None:
        sys.exit("no succeeded run over every customer: run bench/runs.py or bench/whatif.py")
    before = _load_average()
    with api(prepared) as (client, pid):
        page, items = results_latency(client, pid, run_id, args.pages)
        classifications = classifications_latency(client, pid, prepared, 200)
    after = _load_average()
    record(
        f"Run reads at {prepared.customers:,} customers (bench/run_reads.py)",
        [
            f"run {run_id} of `bench_runs_{prepared.customers}` ({prepared.note}); "
            f"`crm-classifier serve` as shipped; load average before {before}, after {after}",
            f"results page of {items} with rationale (GET /runs/{{id}}/results?limit=500, "
            f"{args.pages} pages after 3 warm-up pages, one client): p50 {page.p50:.1f} ms, "
            f"**p99 {page.p99:.1f} ms** (goal ≤ 100 ms); API CPU per page {page.cpu:.1f} ms",
            f"GET /customers/{{id}}/classifications over 200 random customers (after 10 "
            f"warm-up): p50 {classifications.p50:.1f} ms, **p99 {classifications.p99:.1f} "
            f"ms** (goal ≤ 20 ms); API CPU per request {classifications.cpu:.1f} ms",
        ],
        postgres=asyncio.run(server_version(prepared.url)),
    )


if __name__ == "__main__":
    main()
