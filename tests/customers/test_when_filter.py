"""Filtering customers by a rule condition (`?when=`), on profile fields and metrics."""

import httpx

from app.catalog import BUILTIN_CATALOG
from app.facts.columns import customer_columns
from tests.core.test_errors import assert_problem


async def _codes(api: httpx.AsyncClient, when: str, **params: str) -> list[str]:
    response = await api.get("/api/v1/customers", params={"when": when, **params})
    assert response.status_code == 200, response.text
    # Customers created by one bulk request share created_at: compare as sorted lists.
    return sorted(c["code"] for c in response.json()["items"])


async def test_customers_are_filtered_by_metrics_and_profile_fields(
    api: httpx.AsyncClient,
) -> None:
    await api.post(
        "/api/v1/customers/bulk",
        json={"items": [
            {"code": "BIG", "name": "大客户", "region": "上海", "tags": ["重点客户"]},
            {"code": "SMALL", "name": "小客户", "region": "上海"},
            {"code": "FAR", "name": "远方客户", "region": "新疆"},
        ]},
    )  # fmt: skip
    orders = [
        {"external_id": str(i), "customer_code": code, "amount": amount, "ordered_at": day}
        for i, (code, amount, day) in enumerate(
            [("BIG", "600000", "2026-10-01"), ("SMALL", "5000", "2026-10-01"),
             ("FAR", "700000", "2024-01-01")]
        )
    ]  # fmt: skip
    await api.post("/api/v1/orders/bulk", json={"items": orders})
    as_of = {"as_of": "2026-11-25"}
    assert await _codes(api, "近12个月交易金额 >= 50万", **as_of) == ["BIG"]
    assert await _codes(api, 'region = "上海"') == ["BIG", "SMALL"]
    assert await _codes(api, 'tags contains "重点客户"') == ["BIG"]
    cheap = "order_amount_12m < 10000 and last_order_date is not null"
    assert await _codes(api, cheap, **as_of) == ["FAR", "SMALL"]
    assert await _codes(api, "last_order_date within last 90 days", **as_of) == ["BIG", "SMALL"]


async def test_custom_fields_can_be_filtered(api: httpx.AsyncClient) -> None:
    await api.post(
        "/api/v1/fields/custom", json={"key": "score", "type": "integer", "label_zh": "评分"}
    )
    await api.post(
        "/api/v1/customers/bulk",
        json={"items": [{"code": "A", "name": "a", "attributes": {"score": 90}},
                        {"code": "B", "name": "b", "attributes": {"score": 10}},
                        {"code": "C", "name": "c"}]},
    )  # fmt: skip
    assert await _codes(api, "score >= 50") == ["A"]
    assert await _codes(api, "评分 is null") == ["C"]


async def test_an_invalid_condition_is_a_422_pointing_into_the_query(
    api: httpx.AsyncClient,
) -> None:
    for when in ("no_such_field > 1", "order_amount_12m >= ", 'region > "x"'):
        body = assert_problem(await api.get("/api/v1/customers", params={"when": when}), 422)
        assert body["errors"][0]["loc"][:2] == ["query", "when"]


def test_every_catalog_field_has_a_sql_column() -> None:
    import uuid
    from datetime import date

    _, columns = customer_columns(uuid.uuid4(), date(2026, 1, 1), BUILTIN_CATALOG)
    assert {field.key for field in BUILTIN_CATALOG} <= set(columns)
