"""Classification runs through the HTTP API, on demo customers and the seed templates."""

from typing import Any

import httpx

from app.core.db import Database
from tests.runs.conftest import AS_OF, run_jobs


async def test_an_apply_run_assigns_every_customer_in_every_tree(
    api: httpx.AsyncClient, database: Database, classified: dict[str, Any]
) -> None:
    started = await api.post("/api/v1/runs", json={"as_of": AS_OF.isoformat()})
    assert started.status_code == 202, started.text
    run = started.json()
    assert run["status"] == "queued"
    assert {t["key"] for t in run["trees"]} == set(classified)
    await run_jobs(database)
    done = (await api.get(f"/api/v1/runs/{run['id']}")).json()
    assert done["status"] == "succeeded", done
    assert done["counts"]["customers"] == 60
    for tree in done["counts"]["trees"]:
        assert sum(c["count"] for c in tree["categories"]) == 60
        assert tree["changed"] == 60
    page = await api.get(f"/api/v1/runs/{run['id']}/results", params={"limit": 500})
    assert page.status_code == 200, page.text
    assert len(page.json()["items"]) == 240
