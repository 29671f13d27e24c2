"""Preview of a published ruleset over every customer, through the HTTP API, at 1M.

`POST /api/v1/rulesets/{id}/versions/{n}/preview` (scope all) on the 1M-customer database
that bench/load_demo.py leaves: the seed 002 template 客户关系划分 is installed for tenant
`demo` (once; it stays), then the preview is timed (best of `--repeats`) in-process
(httpx over ASGI), so the figure is the service's: the values computed once for every
customer, the ruleset over them, distribution and transitions. Nothing is written.

    python bench/preview.py [--database-url …] [--tenant-id …] [--as-of YYYY-MM-DD]
                            [--data-dir DIR]
"""

import asyncio
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
from app.main import create_app
from app.models import CategoryTree, Role, Ruleset
from app.tenants import service as tenant_service
from bench.common import demo_arguments, demo_database, record, server_version

TEMPLATE = "relationship"


async def _client(database: Database, url: str, tenant_id: uuid.UUID) -> httpx.AsyncClient:
    async with database.sessionmaker() as session, session.begin():
        _, key = await tenant_service.create_api_key(
            session, tenant_id, name="bench-preview", role=Role.EDITOR, delegating=False,
            created_by="bench",
        )  # fmt: skip
    app = create_app(Settings(database_url=url, log_json=False, log_level="WARNING"), database)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://bench",
        headers={"Authorization": f"Bearer {key}"},
        timeout=httpx.Timeout(3600),
    )


async def _ruleset(database: Database, http: httpx.AsyncClient, tenant_id: uuid.UUID) -> Any:
    """The template's ruleset id, installing the template the first time."""
    async with database.sessionmaker() as session:
        found = await session.scalar(
            select(Ruleset.id)
            .join(CategoryTree, CategoryTree.id == Ruleset.tree_id)
            .where(CategoryTree.tenant_id == tenant_id, CategoryTree.key == TEMPLATE)
        )
    if found is not None:
        return found
    response = await http.post(f"/api/v1/templates/{TEMPLATE}/install")
    assert response.status_code == 201, response.text[:300]
    return response.json()["ruleset_id"]


async def main(url: str, tenant_id: uuid.UUID, as_of: date, repeats: int) -> None:
    database = Database.connect(url)
    http = await _client(database, url, tenant_id)
    try:
        ruleset_id = await _ruleset(database, http, tenant_id)
        best, result = float("inf"), {}
        for _ in range(repeats):
            started = time.perf_counter()
            response = await http.post(
                f"/api/v1/rulesets/{ruleset_id}/versions/1/preview",
                json={"scope": {"type": "all"}, "as_of": as_of.isoformat()},
            )
            best = min(best, time.perf_counter() - started)
            assert response.status_code == 200, response.text[:300]
            result = response.json()
    finally:
        await http.aclose()
        await database.dispose()
    shares = ", ".join(f"{d['category']} {d['count']:,}" for d in result["distribution"])
    record(
        "Preview of a published ruleset over every customer (HTTP)",
        [
            f"seed 002 客户关系划分 (template `{TEMPLATE}`), scope all, as_of {as_of}: "
            f"{result['total']:,} customers in **{best:.2f} s** (best of {repeats}), "
            f"{result['total'] / best:,.0f} customers/s; nothing written",
            f"distribution: {shares}; changed against current assignments: {result['changed']:,}",
        ],
        postgres=await server_version(url),
    )


if __name__ == "__main__":
    args = demo_arguments(__doc__).parse_args()
    url, tenant, as_of, server = demo_database(args)
    asyncio.run(main(url, tenant, as_of, args.repeats))
