"""Scores (ntile, rank_pct) through the HTTP API: the RFM template (seed 003) after a run,
one customer scored by the run's cut points, evaluate, preview and backtest."""

from datetime import timedelta
from typing import Any

import httpx

from app.core.db import Database
from tests.runs.conftest import AS_OF
from tests.runs.test_runs_api import all_results, finished, start

# (R, F, M) high? → the segment the RFM template puts such a customer in
PROFILES = {
    (True, True, True): "IMPORTANT_VALUE",
    (True, False, True): "IMPORTANT_DEVELOP",
    (False, True, True): "IMPORTANT_KEEP",
    (False, False, True): "IMPORTANT_RETAIN",
    (True, True, False): "GENERAL_VALUE",
    (True, False, False): "GENERAL_DEVELOP",
    (False, True, False): "GENERAL_KEEP",
    (False, False, False): "GENERAL_RETAIN",
}


def _code(r: bool, f: bool, m: bool) -> str:
    return "P-" + "".join(
        ("H" if high else "L") + dim for dim, high in zip("RFM", (r, f, m), strict=True)
    )


async def _customer(
    api: httpx.AsyncClient, code: str, *, days_ago: int, orders: int, amount: int
) -> str:
    """A customer whose last order was `days_ago` days before AS_OF, with `orders` orders
    in the 12 months before it adding up to `amount` yuan."""
    made = await api.post("/api/v1/customers", json={"code": code, "name": f"客户{code}"})
    assert made.status_code == 201, made.text
    each = amount // orders
    items = [
        {"external_id": f"{code}-{i}", "customer_code": code, "amount": str(each),
         "ordered_at": (AS_OF - timedelta(days=days_ago + 3 * i)).isoformat()}
        for i in range(orders)
    ]  # fmt: skip
    posted = await api.post("/api/v1/orders/bulk", json={"items": items})
    assert posted.status_code == 200, posted.text
    return str(made.json()["id"])


async def _population(api: httpx.AsyncClient) -> dict[str, str]:
    """The eight R/F/M profiles and two customers high in everything: in each dimension
    four of ten are low (the bottom 40 %: quintile scores 1–2) and six high (3–5)."""
    ids = {}
    for r, f, m in PROFILES:
        ids[_code(r, f, m)] = await _customer(
            api,
            _code(r, f, m),
            days_ago=10 if r else 250,
            orders=10 if f else 1,
            amount=2_000_000 if m else 1_000,
        )
    for i in range(2):
        ids[f"TOP-{i}"] = await _customer(api, f"TOP-{i}", days_ago=1, orders=12, amount=3_000_000)
    return ids


async def _install_rfm(api: httpx.AsyncClient) -> str:
    installed = await api.post("/api/v1/templates/rfm/install")
    assert installed.status_code == 201, installed.text
    return str(installed.json()["tree_id"])


async def test_the_rfm_template_puts_each_r_f_m_profile_in_its_segment_after_a_run(
    api: httpx.AsyncClient, database: Database
) -> None:
    tree = await _install_rfm(api)
    await _population(api)
    run = await finished(api, database, (await start(api, tree_ids=[tree]))["id"])
    assert run["status"] == "succeeded", run
    results = {r["customer_code"]: r for r in await all_results(api, run["id"])}
    for (r, f, m), segment in PROFILES.items():
        assert results[_code(r, f, m)]["category"]["code"] == segment, results[_code(r, f, m)]
    assert {results[f"TOP-{i}"]["category"]["code"] for i in range(2)} == {"IMPORTANT_VALUE"}
    champion = results["P-HRHFHM"]["rationale"]
    # Where the customer stands (two of ten are better: the top 40 %), and the cut point
    # the condition asks for.
    assert "距上次下单天数 10 天,位于前 40%(前 60% 需 ≤ 10 天)" in champion["text"], champion
    assert "近12个月交易金额 200.00万元,位于前 40%(前 60% 需 ≥ 200.00万元)" in champion["text"]
    [first, *_] = champion["conditions"]
    assert (first["score"], first["actual"], first["value"]) == ({"kind": "ntile", "k": 5}, 4, 10)


async def test_one_customer_is_scored_by_the_latest_run_s_cut_points(
    api: httpx.AsyncClient, database: Database
) -> None:
    tree = await _install_rfm(api)
    await _population(api)
    run = await finished(api, database, (await start(api, tree_ids=[tree]))["id"])
    assert run["status"] == "succeeded"
    # A new big, recent, frequent buyer is placed among the run's population (ten
    # customers), not ranked alone (alone it would be the best and the worst at once).
    newcomer = await _customer(api, "NEW", days_ago=2, orders=1, amount=5_000_000)
    answer = await api.post(
        f"/api/v1/customers/{newcomer}/reclassify",
        json={"as_of": AS_OF.isoformat(), "tree_ids": [tree], "dry_run": True},
    )
    assert answer.status_code == 200, answer.text
    [item] = answer.json()["items"]
    assert item["category"]["code"] == "IMPORTANT_DEVELOP", item  # one order: F low


async def test_evaluate_places_values_among_a_tree_s_run_or_the_tenant_s_customers(
    api: httpx.AsyncClient, database: Database
) -> None:
    tree = await _install_rfm(api)
    await _population(api)
    body = {
        "rules": [{"key": "top", "category": "TOP", "when": "近12个月订单金额 前20%"}],
        "default_category": "REST",
    }
    values = {"order_amount_12m": 2_500_000}
    # No run yet: the tenant's customers as of the day (two of ten have 300万).
    before = await api.post(
        "/api/v1/rules/evaluate",
        json={"ruleset": body, "values": values, "as_of": AS_OF.isoformat(), "tree_id": tree},
    )
    assert before.status_code == 200, before.text
    assert before.json()["category"] == "REST"
    assert "前 20% 需 ≥ 300.00万元" in before.json()["rationale"]["why_not"][0]["text"]
    english = await api.post(
        "/api/v1/rules/evaluate",
        json={"ruleset": body, "values": {"order_amount_12m": 3_000_000},
              "as_of": AS_OF.isoformat()},
        headers={"Accept-Language": "en"},
    )  # fmt: skip
    assert english.json()["category"] == "TOP"
    assert (
        "CNY 3,000,000.00, in the top 1% (top 20% needs ≥ CNY 3,000,000.00)"
        in (english.json()["rationale"]["text"])
    )


async def test_preview_and_backtest_rank_the_population_they_look_at(
    api: httpx.AsyncClient,
) -> None:
    tree = await _install_rfm(api)
    await _population(api)
    [ruleset] = (await api.get("/api/v1/rulesets", params={"tree_id": tree})).json()["items"]
    preview = await api.post(
        f"/api/v1/rulesets/{ruleset['id']}/versions/1/preview",
        json={"scope": {"type": "all"}, "as_of": AS_OF.isoformat()},
    )
    assert preview.status_code == 200, preview.text
    counts: dict[str, Any] = {d["category"]: d["count"] for d in preview.json()["distribution"]}
    assert counts == {**dict.fromkeys(PROFILES.values(), 1), "IMPORTANT_VALUE": 3}
    # Only the four customers low in M: among them alone, the two recent ones rank high.
    low_m = await api.post(
        f"/api/v1/rulesets/{ruleset['id']}/versions/1/preview",
        json={"scope": {"type": "filter", "when": "近12个月订单金额 < 10000"},
              "as_of": AS_OF.isoformat()},
    )  # fmt: skip
    assert low_m.status_code == 200, low_m.text
    assert low_m.json()["total"] == 4
    backtest = await api.post(
        f"/api/v1/rulesets/{ruleset['id']}/versions/1/backtest",
        json={
            "as_of": AS_OF.isoformat(),
            "samples": [
                {"customer_code": _code(*profile), "expected": segment}
                for profile, segment in PROFILES.items()
            ],
        },
    )
    assert backtest.status_code == 200, backtest.text
    assert backtest.json()["accuracy"] == 1.0, backtest.json()


async def test_a_run_scope_cannot_use_a_score(api: httpx.AsyncClient) -> None:
    tree = await _install_rfm(api)
    refused = await api.post(
        "/api/v1/runs",
        json={"tree_ids": [tree], "as_of": AS_OF.isoformat(),
              "scope": {"type": "filter", "when": "近12个月订单金额 前20%"}},
    )  # fmt: skip
    assert refused.status_code == 422, refused.text
    assert "只能用于规则集" in refused.text


async def test_a_customer_outranked_by_newcomers_moves_and_says_its_score_flipped(
    api: httpx.AsyncClient, database: Database
) -> None:
    tree = await _install_rfm(api)
    ids = await _population(api)
    first = await finished(api, database, (await start(api, tree_ids=[tree]))["id"])
    assert first["status"] == "succeeded"
    # Twelve bigger buyers arrive, as recent and frequent as the champion: its 200万 is now
    # in the bottom 40 % while its R and F stay high.
    for i in range(12):
        await _customer(api, f"BIG-{i}", days_ago=10, orders=10, amount=5_000_000)
    second = await finished(api, database, (await start(api, tree_ids=[tree]))["id"])
    changed = await all_results(api, second["id"], changed="true")
    [champion] = [i for i in changed if i["customer_id"] == ids["P-HRHFHM"]]
    assert champion["category"]["code"] == "GENERAL_VALUE"
    reason = champion["change_reason"]
    assert reason is not None, champion
    # Scored by the first run's cut points before and the second's after, the same value
    # flipped the M condition (of the rule matched before, and of the one matched now).
    flips = [(c["field"], c["held_before"], c["held_after"], c["before"], c["after"])
             for c in reason["conditions"]]  # fmt: skip
    assert flips == [("order_amount_12m", True, False, 4, 2)] * 2  # the quintiles
    assert "近12个月交易金额 200.00万元 → 200.00万元,近12个月交易金额5分位 4 → 2" in reason["text"]
