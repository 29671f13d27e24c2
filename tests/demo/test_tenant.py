"""`crm-classifier demo` prepares tenant `demo`: data once, an admin key, every template."""

import httpx

from app.core.db import Database
from app.demo.tenant import classify_demo_customers, prepare_demo_tenant
from app.rules.templates import TEMPLATES


async def test_the_demo_tenant_has_its_data_and_every_template_once(
    database: Database, client: httpx.AsyncClient
) -> None:
    async with database.sessionmaker() as session, session.begin():
        first = await prepare_demo_tenant(session, customers=30, seed=3)
    async with database.sessionmaker() as session, session.begin():
        again = await prepare_demo_tenant(session, customers=30, seed=3)
    assert first.summary is not None
    assert first.summary.customers == 30
    assert again.summary is None  # the data is not loaded twice
    assert first.templates == [t["name"] for t in TEMPLATES.values()]
    assert again.templates == []

    headers = {"Authorization": f"Bearer {again.secret}"}
    rulesets = (await client.get("/api/v1/rulesets", headers=headers)).json()["items"]
    assert len(rulesets) == len(TEMPLATES)
    trees = (await client.get("/api/v1/category-trees", headers=headers)).json()["items"]
    assert sorted(t["key"] for t in trees) == sorted(t["key"] for t in TEMPLATES.values())
    # A template's published ruleset previews over the demo customers.
    preview = await client.post(
        f"/api/v1/rulesets/{rulesets[0]['id']}/versions/1/preview",
        json={"scope": {"type": "all"}},
        headers=headers,
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["total"] == 30
    # The demo classifies every customer in every tree once, so a newcomer sees results.
    run = await classify_demo_customers(database, again.principal)
    assert run is not None
    assert (run.status, run.customers) == ("succeeded", 30)
    assert run.changed >= 30 * len(TEMPLATES)  # a multi-assign tree may add several each
    assert await classify_demo_customers(database, again.principal) is None
    customers = (await client.get("/api/v1/customers", headers=headers)).json()["items"]
    classified = await client.get(
        f"/api/v1/customers/{customers[0]['id']}/classifications", headers=headers
    )
    assert len(classified.json()["items"]) == len(TEMPLATES)
    results = await client.get(f"/api/v1/runs/{run.run_id}/results", headers=headers)
    assert results.json()["items"][0]["rationale"]["text"]
