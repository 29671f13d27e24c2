"""Metrics as of a date: the window rule pinned at its edges, zeros not nulls."""

import random
from datetime import date, timedelta
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from app.facts.metrics import (
    BULK_PLANNER_SETTINGS,
    months_before,
    planned_for_many_customers,
)
from tests.core.test_errors import assert_problem


async def _customer(api: httpx.AsyncClient, **fields: Any) -> str:
    response = await api.post(
        "/api/v1/customers", json={"code": "M1", "name": "度量公司", **fields}
    )
    return response.json()["id"]


async def _orders(api: httpx.AsyncClient, *rows: tuple[str, str, str]) -> None:
    items = [
        {"external_id": f"O{i}", "customer_code": "M1", "amount": amount, "ordered_at": day,
         "status": status}
        for i, (day, amount, status) in enumerate(rows)
    ]  # fmt: skip
    response = await api.post("/api/v1/orders/bulk", json={"items": items})
    assert response.json()["failed"] == 0, response.text


async def _metrics(api: httpx.AsyncClient, customer_id: str, as_of: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/customers/{customer_id}/metrics", params={"as_of": as_of})
    assert response.status_code == 200, response.text
    return response.json()["metrics"]


async def test_a_customer_without_activity_has_zeros_and_nulls(api: httpx.AsyncClient) -> None:
    metrics = await _metrics(api, await _customer(api), "2026-11-25")
    assert metrics["order_amount_12m"] == "0"
    assert metrics["order_count_12m"] == 0
    assert metrics["interactions_6m"] == 0
    assert metrics["complaints_6m"] == 0
    assert metrics["last_order_date"] is None
    assert metrics["days_since_last_order"] is None
    assert metrics["days_since_last_contact"] is None
    assert metrics["avg_order_amount_12m"] is None
    assert metrics["cooperation_months"] is None


async def test_month_windows_exclude_the_day_n_months_before_and_include_as_of(
    api: httpx.AsyncClient,
) -> None:
    customer_id = await _customer(api)
    await _orders(
        api,
        ("2024-02-29", "1.00", "completed"),  # = 2024-03-31 − 1 month: outside 1m
        ("2024-03-01", "10.00", "completed"),
        ("2024-03-31", "100.00", "completed"),  # as_of itself: inside
        ("2024-04-01", "1000.00", "completed"),  # after as_of: ignored
        ("2023-03-31", "10000.00", "completed"),  # = as_of − 12 months: outside 12m
        ("2023-04-01", "100000.00", "completed"),
        ("2024-03-15", "5000.00", "cancelled"),  # void: never counted
    )
    metrics = await _metrics(api, customer_id, "2024-03-31")
    assert metrics["order_amount_1m"] == "110.00"
    assert metrics["order_count_1m"] == 2
    assert metrics["order_amount_12m"] == "100111.00"
    assert metrics["order_count_12m"] == 4
    assert metrics["avg_order_amount_12m"] == "25027.75"
    assert metrics["last_order_date"] == "2024-03-31"
    assert metrics["days_since_last_order"] == 0
    earlier = await _metrics(api, customer_id, "2024-03-30")
    # 2024-03-30 − 1 month clamps to 2024-02-29 too, which stays outside.
    assert earlier["order_amount_1m"] == "10.00"
    assert earlier["days_since_last_order"] == 29


async def test_day_windows_and_interaction_counts(api: httpx.AsyncClient) -> None:
    customer_id = await _customer(api)

    def item(external_id: str, day: str, **fields: Any) -> dict[str, Any]:
        return {"external_id": external_id, "customer_code": "M1", "occurred_at": day, **fields}

    interactions = [
        item("I1", "2026-10-26"),  # = as_of − 30 days: outside 30d
        item("I2", "2026-10-27", is_inquiry=True),
        item("I3", "2026-11-25", direction="outbound", replied=False),
        item("I4", "2026-08-27", direction="outbound", replied=None),  # = as_of − 90 days
        item("I5", "2026-05-26"),  # inside 6m
        item("I6", "2026-05-25"),  # = as_of − 6 months: outside
    ]
    created = await api.post("/api/v1/interactions/bulk", json={"items": interactions})
    assert created.json()["created"] == 6
    complaints = [
        item("K1", "2026-06-01", severity="major"),
        item("K2", "2026-05-25", severity="major"),
        item("K3", "2026-11-01"),
    ]
    await api.post("/api/v1/complaints/bulk", json={"items": complaints})
    metrics = await _metrics(api, customer_id, "2026-11-25")
    assert metrics["interactions_30d"] == 2
    assert metrics["interactions_90d"] == 3
    assert metrics["interactions_6m"] == 5
    assert metrics["inquiries_90d"] == 1
    assert metrics["unreplied_outreach_90d"] == 1
    assert metrics["last_contact_date"] == "2026-11-25"
    assert metrics["days_since_last_contact"] == 0
    assert metrics["complaints_6m"] == 2
    assert metrics["major_complaints_6m"] == 1


async def test_three_and_six_month_order_windows_hold_their_edges(
    api: httpx.AsyncClient,
) -> None:
    # As of 2024-05-31: − 1 month = 2024-04-30, − 3 months = 2024-02-29 (clamped),
    # − 6 months = 2023-11-30, − 12 months = 2023-05-31. One digit per order, so every sum
    # says which orders it holds.
    customer_id = await _customer(api)
    await _orders(
        api,
        ("2023-11-30", "100.00", "completed"),  # = as_of − 6 months: outside 6m
        ("2023-12-01", "1000.00", "completed"),  # inside 6m
        ("2024-02-29", "1.00", "completed"),  # = as_of − 3 months: outside 3m
        ("2024-03-01", "10.00", "completed"),  # inside 3m
        ("2024-05-31", "10000.00", "completed"),  # as_of itself
        ("2024-06-01", "100000.00", "completed"),  # after as_of: ignored
        ("2024-04-15", "5.00", "cancelled"),  # void
    )
    metrics = await _metrics(api, customer_id, "2024-05-31")
    assert (metrics["order_amount_1m"], metrics["order_count_1m"]) == ("10000.00", 1)
    assert (metrics["order_amount_3m"], metrics["order_count_3m"]) == ("10010.00", 2)
    assert (metrics["order_amount_6m"], metrics["order_count_6m"]) == ("11011.00", 4)
    assert (metrics["order_amount_12m"], metrics["order_count_12m"]) == ("11111.00", 5)
    # A day later every edge moves by a day: 2024-03-01 and 2023-12-01 fall out.
    later = await _metrics(api, customer_id, "2024-06-01")
    assert (later["order_amount_3m"], later["order_count_3m"]) == ("110000.00", 2)
    assert (later["order_amount_6m"], later["order_count_6m"]) == ("110011.00", 4)


async def test_contacts_and_complaints_after_as_of_are_ignored_and_inquiries_keep_windows(
    api: httpx.AsyncClient,
) -> None:
    # As of 2024-05-31: − 30 days = 2024-05-01, − 90 days = 2024-03-02, − 6 months =
    # 2023-11-30. As of 2024-06-01 each of those is a day later.
    customer_id = await _customer(api)

    def item(external_id: str, day: str, **fields: Any) -> dict[str, Any]:
        return {"external_id": external_id, "customer_code": "M1", "occurred_at": day, **fields}

    interactions = [
        item("I1", "2023-11-30", is_inquiry=True),  # = as_of − 6 months: outside
        item("I2", "2023-12-01", is_inquiry=True),  # inside 6m, outside 90d
        item("I3", "2024-03-02", is_inquiry=True),  # = as_of − 90 days: 6m only
        item("I4", "2024-03-03", is_inquiry=True),  # inside 90d
        item("I5", "2024-05-20"),  # the last contact up to as_of
        # After as_of: an inquiry and an unanswered outreach, counted from 2024-06-01 on.
        item("I6", "2024-06-01", is_inquiry=True, direction="outbound", replied=False),
    ]
    created = await api.post("/api/v1/interactions/bulk", json={"items": interactions})
    assert created.json()["created"] == 6, created.text
    complaints = [
        item("K1", "2023-11-30", severity="major"),  # = as_of − 6 months: outside
        item("K2", "2023-12-01"),  # minor, inside 6m
        item("K3", "2024-05-31", severity="major"),  # as_of itself
        item("K4", "2024-06-01", severity="major"),  # after as_of
    ]
    created = await api.post("/api/v1/complaints/bulk", json={"items": complaints})
    assert created.json()["created"] == 4, created.text

    metrics = await _metrics(api, customer_id, "2024-05-31")
    assert metrics["interactions_30d"] == 1
    assert metrics["interactions_90d"] == 2
    assert metrics["interactions_6m"] == 4
    assert metrics["inquiries_90d"] == 1
    assert metrics["inquiries_6m"] == 3
    assert metrics["unreplied_outreach_90d"] == 0
    assert metrics["last_contact_date"] == "2024-05-20"
    assert metrics["days_since_last_contact"] == 11
    assert (metrics["complaints_6m"], metrics["major_complaints_6m"]) == (2, 1)

    later = await _metrics(api, customer_id, "2024-06-01")
    assert later["interactions_30d"] == 2
    assert later["interactions_90d"] == 2  # I5 and I6: I4 on 2024-03-03 is now the edge
    assert later["interactions_6m"] == 4  # I3 to I6: 2023-12-01 is now the edge
    assert later["inquiries_90d"] == 1
    assert later["inquiries_6m"] == 3
    assert later["unreplied_outreach_90d"] == 1
    assert (later["last_contact_date"], later["days_since_last_contact"]) == ("2024-06-01", 0)
    assert (later["complaints_6m"], later["major_complaints_6m"]) == (2, 2)


async def test_cooperation_months_count_from_the_start_or_the_first_order(
    api: httpx.AsyncClient,
) -> None:
    customer_id = await _customer(api, cooperation_since="2021-03-31")
    assert (await _metrics(api, customer_id, "2024-03-31"))["cooperation_months"] == 36
    assert (await _metrics(api, customer_id, "2024-03-30"))["cooperation_months"] == 35
    assert (await _metrics(api, customer_id, "2020-01-01"))["cooperation_months"] == 0
    await api.patch(f"/api/v1/customers/{customer_id}", json={"cooperation_since": None})
    await _orders(api, ("2023-01-15", "1.00", "completed"))
    assert (await _metrics(api, customer_id, "2024-03-31"))["cooperation_months"] == 14


async def test_cooperation_months_are_the_months_of_postgresqls_age(
    api: httpx.AsyncClient, database: Any
) -> None:
    # Month ends, leap days and the same day of the month, then random pairs.
    since_days = ["2020-02-29", "2021-01-31", "2023-03-30", "2023-03-31", "2024-01-15"]
    as_of_days = ["2024-02-28", "2024-02-29", "2024-03-30", "2024-03-31", "2025-02-28"]
    rng = random.Random(4)
    for _ in range(12):
        since = date(2015, 1, 1) + timedelta(days=rng.randrange(3650))
        since_days.append(since.isoformat())
        as_of_days.append((since + timedelta(days=rng.randrange(1200))).isoformat())
    age_months = text(
        "SELECT (date_part('year', age(CAST(:a AS date), CAST(:s AS date))) * 12"
        " + date_part('month', age(CAST(:a AS date), CAST(:s AS date))))::int"
    )
    async with database.engine.connect() as conn:
        for i, since in enumerate(since_days):
            response = await api.post(
                "/api/v1/customers",
                json={"code": f"COOP{i}", "name": f"合作公司{i}", "cooperation_since": since},
            )
            customer_id = response.json()["id"]
            for as_of in as_of_days:
                expected = 0 if as_of < since else await conn.scalar(
                    age_months, {"a": date.fromisoformat(as_of), "s": date.fromisoformat(since)}
                )  # fmt: skip
                metrics = await _metrics(api, customer_id, as_of)
                assert metrics["cooperation_months"] == expected, (since, as_of)


async def test_as_of_must_be_a_date(api: httpx.AsyncClient) -> None:
    customer_id = await _customer(api)
    for bad in ("2024-02-30", "0.5", "20240101", "yesterday"):
        response = await api.get(f"/api/v1/customers/{customer_id}/metrics", params={"as_of": bad})
        assert_problem(response, 422)


@given(st.dates(min_value=date(1901, 1, 1), max_value=date(2999, 12, 31)), st.integers(0, 240))
def test_months_before_clamps_to_month_end_like_postgres(day: date, months: int) -> None:
    result = months_before(day, months)
    assert (result.year * 12 + result.month) == (day.year * 12 + day.month - months)
    assert result.day == day.day or (result + timedelta(days=1)).day == 1
    assert result.day <= day.day


async def test_statements_over_many_customers_get_their_plan_and_leave_no_trace(
    database: Any,
) -> None:
    async with database.engine.connect() as conn, conn.begin():
        await conn.execute(text("SET LOCAL enable_hashjoin = on"))
        await conn.execute(text("SET LOCAL enable_hashagg = on"))
        async with planned_for_many_customers(conn):
            for name, value in BULK_PLANNER_SETTINGS.items():
                assert await conn.scalar(text(f"SHOW {name}")) == value
        for name in BULK_PLANNER_SETTINGS:
            assert await conn.scalar(text(f"SHOW {name}")) == "on"
