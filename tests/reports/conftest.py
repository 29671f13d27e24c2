"""Report tests: a small data set whose figures are checked by hand, and running the jobs
of this test's tenant only."""

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest

from app.core.db import Database
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from tests.conftest import TenantKeys

AS_OF = date(2026, 11, 25)

# Customer code → (order amount, order day): value by 近6个月 / 近12个月 amounts, activity by
# the last order's age (seed 000 templates). Hand-classified:
#   A1 600000 11-20 → 高价值 · 高活跃      A2 200000 11-20 → 中价值 · 高活跃 (潜力客户)
#   A3 150000 09-30 → 中价值 · 中活跃      A4  50000 11-10 → 低价值 · 高活跃
#   A5  98000 11-10 → 低价值 (borderline: 2% under 10万元) · 高活跃
#   A6 no order     → 低价值 · 低活跃
ORDERS: dict[str, tuple[int, str] | None] = {
    "A1": (600_000, "2026-11-20"),
    "A2": (200_000, "2026-11-20"),
    "A3": (150_000, "2026-09-30"),
    "A4": (50_000, "2026-11-10"),
    "A5": (98_000, "2026-11-10"),
    "A6": None,
}


@dataclass
class SmallSet:
    trees: dict[str, str]  # key → tree id
    customers: dict[str, str]  # code → customer id
    categories: dict[tuple[str, str], str]  # (tree key, code) → category id


async def run_jobs(database: Database, tenant: TenantKeys) -> int:
    """Run this tenant's queued jobs until none is left."""
    load_handlers()
    return await Worker(database, tenant_id=tenant.id).run_until_idle()


async def apply_run(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys, **body: Any
) -> dict[str, Any]:
    started = await api.post("/api/v1/runs", json={"as_of": AS_OF.isoformat(), **body})
    assert started.status_code == 202, started.text
    await run_jobs(database, tenant)
    run = (await api.get(f"/api/v1/runs/{started.json()['id']}")).json()
    assert run["status"] == "succeeded", run
    return run


@pytest.fixture
async def small(api: httpx.AsyncClient) -> SmallSet:
    trees = {}
    for key in ("value", "activity"):
        installed = await api.post(f"/api/v1/templates/{key}/install")
        assert installed.status_code == 201, installed.text
        trees[key] = installed.json()["tree_id"]
    customers = {}
    for code in ORDERS:
        created = await api.post(
            "/api/v1/customers", json={"code": code, "name": f"客户{code}", "stage": "signed"}
        )
        assert created.status_code == 201, created.text
        customers[code] = created.json()["id"]
    orders = [
        {
            "external_id": f"SO-{code}",
            "customer_code": code,
            "amount": str(amount),
            "ordered_at": day,
        }
        for code, order in ORDERS.items()
        if order is not None
        for amount, day in [order]
    ]
    added = await api.post("/api/v1/orders/bulk", json={"items": orders})
    assert added.json()["created"] == len(orders), added.text
    categories = {}
    for key, tree_id in trees.items():
        listed = await api.get(f"/api/v1/category-trees/{tree_id}/categories")
        for category in listed.json()["items"]:
            categories[(key, category["code"])] = category["id"]
    return SmallSet(trees, customers, categories)
