"""What a worker's look for due schedules costs (app/schedules/firing.py).

    python bench/schedule_look.py [--tenants 100] [--per-tenant 100] [--data-dir DIR]
                                  [--database-url postgresql+asyncpg://…/postgres]

A fresh database `bench_schedules` (embedded server in --data-dir, see bench/common.py,
or the given server / CRMC_DATABASE_URL's), `--tenants` tenants with `--per-tenant`
monthly schedules each, next fires spread over the coming 30 days (INSERT … SELECT).
Then, in one process:

1. an idle look (nothing due), as every worker makes one every
   CRMC_SCHEDULE_CHECK_SECONDS: median and max of 20;
2. a look that fires 100 due schedules (no ruleset is published, so each records why it
   could not start a run: the cost of the firing itself, not of the runs).

Prints the figures and appends them to bench/RESULTS.md.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from app.core.db import Database
from app.schedules.firing import fire_due_schedules
from bench.common import add_data_dir, fresh_database, record, run, server_version

DATABASE = "bench_schedules"

TENANTS = """
INSERT INTO tenants (slug, name)
SELECT 'bench-' || n, '压测 ' || n FROM generate_series(1, :tenants) AS n
"""
SCHEDULES = """
INSERT INTO schedules (tenant_id, name, cron, time_zone, scope, mode, enabled, next_fire_at,
                       created_by, api_key_id)
SELECT t.id, '每月回顾 ' || n, '0 9 1 * *', t.time_zone, '{"type": "all"}', 'apply', true,
       now() + interval '1 minute' + (random() * interval '30 days'), 'bench',
       gen_random_uuid()
FROM tenants AS t, generate_series(1, :per_tenant) AS n
"""
MAKE_DUE = """
UPDATE schedules SET next_fire_at = now() - interval '1 minute'
WHERE id IN (SELECT id FROM schedules ORDER BY id LIMIT :due)
"""


async def main(args: argparse.Namespace) -> None:
    url, embedded = await fresh_database(DATABASE, args.data_dir, args.database_url)
    database = Database.connect(url)
    try:
        async with database.engine.begin() as conn:
            await conn.execute(text(TENANTS), {"tenants": args.tenants})
            await conn.execute(text(SCHEDULES), {"per_tenant": args.per_tenant})
            await conn.execute(text("ANALYZE tenants, schedules"))
        idle = []
        for _ in range(20):
            started = time.perf_counter()
            fired = await fire_due_schedules(database, datetime.now(UTC), None)
            idle.append(time.perf_counter() - started)
            assert fired == 0
        async with database.engine.begin() as conn:
            await conn.execute(text(MAKE_DUE), {"due": 100})
        started = time.perf_counter()
        fired = await fire_due_schedules(database, datetime.now(UTC), None)
        firing = time.perf_counter() - started
        total = args.tenants * args.per_tenant
        record(
            "Schedules: a worker's look for due ones",
            [
                f"{total:,} enabled schedules ({args.tenants} tenants × {args.per_tenant})",
                f"idle look (nothing due; the due query and the zone check): median "
                f"{statistics.median(idle) * 1000:.1f} ms, max {max(idle) * 1000:.1f} ms "
                f"(20 looks)",
                f"a look firing {fired} due schedules (each: lock, move on, record the fire, "
                f"try to start the run, record why it could not): {firing:.2f} s, "
                f"{firing / max(fired, 1) * 1000:.1f} ms per fire",
                f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
            ],
            postgres=await server_version(url),
        )
    finally:
        await database.dispose()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    parser = add_data_dir(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--per-tenant", type=int, default=100)
    parser.add_argument("--database-url", help="an admin URL of the server to use")
    run(main(parser.parse_args()))
