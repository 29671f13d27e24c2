"""Threshold suggestions through the HTTP API: 50 and 1,000 labelled samples.

    python bench/suggest.py [--customers 10000] [--repeats 2] [--database-url URL]
                            [--data-dir DIR]

Creates a fresh database `bench_suggest` (embedded in --data-dir, or on the server of
--database-url), loads the demo tenant (`--customers`, with their orders, interactions and
complaints) and installs two seed templates, 价值 (seed 000, two money thresholds: an exhaustive
search) and 客户关系 (seed 002, seven thresholds: coordinate descent), classified by an
apply run (so the preview counts customers who would move). For each
template and sample size, customers are drawn (fixed seed) and labelled by the template
with its thresholds moved (amounts × 0.8, counts + 2) and 5 % of the labels flipped; then
`POST …/versions/1/suggest` is timed in-process over ASGI, best of `--repeats`: reading the
samples' values, the search and its five-fold cross-validation, and the preview over
every customer of the tenant. Prints wall-clock and CPU time (this process: API and
search; PostgreSQL's backends apart) with the load average, and appends them to
bench/RESULTS.md. Goals (issue 16): 50 samples ≤ 2 s, 1,000 samples ≤ 10 s.
"""

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from app.core.db import Database
from app.core.settings import Settings
from app.demo import load_demo
from app.demo.generate import default_as_of
from app.facts.fields import tenant_catalog
from app.facts.values import customer_values
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from app.main import create_app
from app.models import Customer, Role
from app.rules.language.evaluate import Evaluator
from app.rules.language.validate import check_ruleset
from app.rules.suggestions.thresholds import leaf_values, tunable_thresholds, with_thresholds
from app.rules.templates import RELATIONSHIP, VALUE
from app.tenants import service as tenant_service
from bench.common import add_data_dir, fresh_database, record, server_version
from bench.import_csv import postgres_cpu_seconds

DATABASE = "bench_suggest"
SIZES = (50, 1000)
NOISE = 0.05


async def load(url: str, customers: int, as_of: date) -> tuple[uuid.UUID, str]:
    """The demo tenant with `customers` customers, and an editor's API key."""
    database = Database.connect(url, server_settings={"synchronous_commit": "off"})
    try:
        async with database.sessionmaker() as session, session.begin():
            tenant = await tenant_service.create_tenant(session, "demo", "演示企业")
            await load_demo(
                session, tenant.id, customers=customers, seed=0, as_of=as_of,
                time_zone=tenant.time_zone,
            )  # fmt: skip
            _, key = await tenant_service.create_api_key(
                session, tenant.id, name="bench-suggest", role=Role.EDITOR, delegating=False,
                created_by="bench",
            )  # fmt: skip
        return tenant.id, key
    finally:
        await database.dispose()


async def labelled(
    database: Database, tenant_id: uuid.UUID, template: dict[str, Any], size: int, as_of: date
) -> list[dict[str, str]]:
    """`size` customers labelled by the template with its thresholds moved, 5 % flipped."""
    rng = random.Random(size)
    async with database.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Customer.id, Customer.code)
                .where(Customer.tenant_id == tenant_id)
                .order_by(Customer.code)
            )
        ).all()
        chosen = rng.sample(rows, size)
        catalog = await tenant_catalog(session, tenant_id)
        values = await customer_values(session, tenant_id, [r.id for r in chosen], as_of, catalog)
    ruleset = check_ruleset(template["ruleset"], catalog)
    thresholds = tunable_thresholds(ruleset, catalog)
    moved = [
        t.value * 8 // 10 if t.step == 10_000 else t.value + 2 for t in thresholds
    ]  # amounts × 0.8, counts + 2
    truth = Evaluator(with_thresholds(ruleset, leaf_values(thresholds, moved)), catalog)
    categories = sorted({r.category for r in ruleset.rules} | {ruleset.default_category})
    samples = []
    for row in chosen:
        expected = truth.evaluate(values[row.id], as_of).category
        if rng.random() < NOISE:
            expected = rng.choice([c for c in categories if c != expected])
        samples.append({"customer_code": row.code, "expected": expected})
    return samples


async def main(args: argparse.Namespace) -> None:
    as_of = default_as_of("Asia/Shanghai")
    url, embedded = await fresh_database(DATABASE, args.data_dir, args.database_url)
    started = time.perf_counter()
    tenant_id, key = await load(url, args.customers, as_of)
    print(f"loaded {args.customers:,} customers in {time.perf_counter() - started:.0f} s")
    database = Database.connect(url)
    app = create_app(Settings(database_url=url, log_json=False, log_level="WARNING"), database)
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://bench",
        headers={"Authorization": f"Bearer {key}"},
        timeout=httpx.Timeout(600),
    )
    lines = []
    load_handlers()
    try:
        rulesets = {}
        for template in (VALUE, RELATIONSHIP):
            installed = await http.post(f"/api/v1/templates/{template['key']}/install")
            assert installed.status_code == 201, installed.text[:300]
            rulesets[template["key"]] = installed.json()["ruleset_id"]
        # Every customer classified by version 1, so "would change category" counts moves.
        run = await http.post("/api/v1/runs", json={"as_of": as_of.isoformat(), "mode": "apply"})
        assert run.status_code == 202, run.text[:300]
        await Worker(database, tenant_id=tenant_id).run_until_idle()
        for template in (VALUE, RELATIONSHIP):
            ruleset_id = rulesets[template["key"]]
            for size in SIZES:
                samples = await labelled(database, tenant_id, template, size, as_of)
                body = {"samples": samples, "as_of": as_of.isoformat()}
                best: tuple[float, float, float, float] | None = None
                result: dict[str, Any] = {}
                for _ in range(args.repeats):
                    load_average = os.getloadavg()[0]
                    cpu, pg = time.process_time(), postgres_cpu_seconds(DATABASE)
                    begun = time.perf_counter()
                    response = await http.post(
                        f"/api/v1/rulesets/{ruleset_id}/versions/1/suggest", json=body
                    )
                    wall = time.perf_counter() - begun
                    figures = (
                        wall,
                        time.process_time() - cpu,
                        postgres_cpu_seconds(DATABASE) - pg,
                        load_average,
                    )
                    assert response.status_code == 200, response.text[:500]
                    result = response.json()
                    if best is None or wall < best[0]:
                        best = figures
                assert best is not None
                wall, cpu, pg, load_average = best
                goal = 2 if size == 50 else 10
                search = result["search"]
                lines.append(
                    f"{template['name']} ({search['thresholds']} thresholds, "
                    f"{search['method']}), {size:,} samples: **{wall:.2f} s** wall "
                    f"(goal ≤ {goal} s), CPU {cpu:.2f} s in the API process (search, "
                    f"cross-validation, HTTP) + {pg:.2f} s PostgreSQL, load average "
                    f"{load_average:.1f}; {search['evaluations']:,} candidate sets scored; "
                    f"training accuracy {result['training']['before']['accuracy']:.3f} → "
                    f"{result['training']['after']['accuracy']:.3f}, cross-validated "
                    f"{result['cross_validated']['accuracy']:.3f}; "
                    f"{result['tenant']['changed']:,} of {result['tenant']['total']:,} "
                    f"customers would move"
                )
                print(lines[-1])
        postgres = await server_version(url)
    finally:
        await http.aclose()
        await database.dispose()
        if embedded is not None:
            embedded.stop()
    lines.append(
        f"{args.customers:,} demo customers (the preview inside each request covers all of "
        f"them); labels from the template with amounts × 0.8 and counts + 2, {NOISE:.0%} "
        f"flipped; best of {args.repeats}; in-process over ASGI"
    )
    record("Threshold suggestions (POST …/versions/{n}/suggest)", lines, postgres=postgres)


if __name__ == "__main__":
    parser = add_data_dir(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--database-url", help="a server to create the database on")
    asyncio.run(main(parser.parse_args()))
