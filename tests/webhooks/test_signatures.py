"""Inbound events are believed only when signed with the tenant's secret, on time."""

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.core.db import Database
from app.webhooks.dependencies import clock
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem
from tests.webhooks.conftest import Sender, minutes, new_customer, order, stored

WRONG = "whsec_" + base64.b64encode(b"x" * 32).decode()


def _event(code: str, external_id: str) -> dict[str, Any]:
    return {"type": "order.created", "data": order(code, external_id)}


async def _refused(
    response: httpx.Response, database: Database, tenant: TenantKeys
) -> dict[str, Any]:
    body = assert_problem(response, 401)
    assert body["type"].endswith(":invalid-signature")
    after = await stored(database, tenant.id)
    assert (after.events, after.orders, after.jobs) == (0, 0, 0)
    return body


async def test_a_signed_event_is_accepted_without_an_api_key(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await new_customer(api, "C1")
    response = await sender.post(_event("C1", "SO-1"), webhook_id="msg_one")
    assert response.status_code == 202, response.text
    receipt = response.json()
    assert receipt["webhook_id"] == "msg_one"
    assert (receipt["status"], receipt["duplicate"], receipt["items"]) == ("accepted", False, 1)
    assert "authorization" not in {k.lower() for k in sender.client.headers}
    after = await stored(database, tenant.id)
    assert (after.events, after.orders, after.jobs) == (1, 1, 1)


async def test_a_wrong_secret_is_refused_and_stores_nothing(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await new_customer(api, "C1")
    await _refused(await sender.post(_event("C1", "SO-1"), secret=WRONG), database, tenant)


async def test_a_tampered_body_is_refused(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await new_customer(api, "C1")
    signed = json.dumps(_event("C1", "SO-1")).encode()
    tampered = signed.replace(b"1000.00", b"9000.00")
    await _refused(await sender.post(tampered, headers=sender.headers(signed)), database, tenant)


async def test_any_of_several_signatures_may_match(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await new_customer(api, "C1")
    body = json.dumps(_event("C1", "SO-1")).encode()
    headers = sender.headers(body)
    wrong = sender.headers(body, webhook_id=headers["webhook-id"], secret=WRONG)
    headers["webhook-signature"] = f"{wrong['webhook-signature']} {headers['webhook-signature']}"
    assert (await sender.post(body, headers=headers)).status_code == 202
    only_wrong = {**headers, "webhook-signature": f"{wrong['webhook-signature']} v1,AAAA"}
    only_wrong["webhook-id"] = "msg_other"
    await _refused_keeps(await sender.post(body, headers=only_wrong))


async def _refused_keeps(response: httpx.Response) -> None:
    assert assert_problem(response, 401)["type"].endswith(":invalid-signature")


@pytest.mark.parametrize("offset", [minutes(-6), minutes(6)], ids=["old", "future"])
async def test_a_timestamp_more_than_five_minutes_off_is_refused(
    sender: Sender,
    api: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    offset: timedelta,
) -> None:
    await new_customer(api, "C1")
    late = datetime.now(UTC) + offset
    await _refused(await sender.post(_event("C1", "SO-1"), at=late), database, tenant)


async def test_a_timestamp_within_five_minutes_is_accepted(
    sender: Sender, api: httpx.AsyncClient
) -> None:
    await new_customer(api, "C1")
    response = await sender.post(_event("C1", "SO-1"), at=datetime.now(UTC) - minutes(4))
    assert response.status_code == 202, response.text


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
async def test_a_missing_signature_header_is_refused(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys, missing: str
) -> None:
    await new_customer(api, "C1")
    body = json.dumps(_event("C1", "SO-1")).encode()
    headers = {k: v for k, v in sender.headers(body).items() if k != missing}
    await _refused(await sender.post(body, headers=headers), database, tenant)


async def test_an_unknown_tenant_gets_the_same_answer_as_a_bad_signature(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await new_customer(api, "C1")
    unknown = await sender.post(_event("C1", "SO-1"), slug="no-such-tenant")
    wrong = await sender.post(_event("C1", "SO-1"), secret=WRONG)
    first, second = assert_problem(unknown, 401), assert_problem(wrong, 401)
    same = ("type", "title", "status", "detail")
    assert {k: first[k] for k in same} == {k: second[k] for k in same}
    assert unknown.headers.get("www-authenticate") == wrong.headers.get("www-authenticate")


async def test_a_tenant_without_a_secret_accepts_nothing(
    client: httpx.AsyncClient, make_tenant: Any, database: Database
) -> None:
    bare = await make_tenant()
    api = {"Authorization": f"Bearer {bare.keys['admin']}"}
    await client.post("/api/v1/customers", json={"code": "C1", "name": "甲"}, headers=api)
    body = json.dumps(_event("C1", "SO-1")).encode()
    sender = Sender(client, bare.slug, WRONG)
    await _refused(await sender.post(body), database, bare)


async def test_an_oversized_body_is_413_and_stores_nothing(
    sender: Sender, api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    await new_customer(api, "C1")
    event = _event("C1", "SO-1")
    event["data"]["note"] = "x" * (1024 * 1024)
    assert_problem(await sender.post(event), 413)
    after = await stored(database, tenant.id)
    assert (after.events, after.orders) == (0, 0)


@pytest.fixture
def step_clock(app: Any) -> Iterator[list[timedelta]]:
    """Move the service's clock forward by the value put in the returned list."""
    offset = [timedelta(0)]
    app.dependency_overrides[clock] = lambda: datetime.now(UTC) + offset[0]
    yield offset
    app.dependency_overrides.pop(clock, None)


async def test_after_a_rotation_both_secrets_verify_for_24_hours_then_only_the_new_one(
    sender: Sender,
    api: httpx.AsyncClient,
    tenant: TenantKeys,
    step_clock: list[timedelta],
) -> None:
    await new_customer(api, "C1")
    old = sender.secret
    rotated = await api.post("/api/v1/webhooks/inbound-secret")
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_")
    assert new != old
    assert rotated.json()["previous_valid_until"] is not None
    assert (await sender.post(_event("C1", "SO-1"), secret=old)).status_code == 202
    assert (await sender.post(_event("C1", "SO-2"), secret=new)).status_code == 202

    step_clock[0] = timedelta(hours=23, minutes=59)
    assert (await sender.post(_event("C1", "SO-3"), secret=old)).status_code == 202
    step_clock[0] = timedelta(hours=24, minutes=1)
    await _refused_keeps(await sender.post(_event("C1", "SO-4"), secret=old))
    assert (await sender.post(_event("C1", "SO-5"), secret=new)).status_code == 202


async def test_a_second_rotation_ends_the_first_secret_at_once(
    sender: Sender, api: httpx.AsyncClient
) -> None:
    await new_customer(api, "C1")
    first = sender.secret
    await api.post("/api/v1/webhooks/inbound-secret")
    third = (await api.post("/api/v1/webhooks/inbound-secret")).json()["secret"]
    await _refused_keeps(await sender.post(_event("C1", "SO-1"), secret=first))
    assert (await sender.post(_event("C1", "SO-2"), secret=third)).status_code == 202


async def test_only_an_admin_may_rotate_the_secret(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    response = await client.post(
        "/api/v1/webhooks/inbound-secret", headers=tenant.headers("editor")
    )
    assert_problem(response, 403)
    assert_problem(await client.post("/api/v1/webhooks/inbound-secret"), 401)
