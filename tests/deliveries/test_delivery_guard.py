"""The SSRF guard at delivery time: the worker resolves the endpoint's host again and
refuses internal addresses even for an endpoint accepted earlier."""

import uuid
from collections.abc import Iterator

import httpx
import pytest

from app.core.db import Database
from app.core.settings import get_settings
from tests.conftest import TenantKeys
from tests.deliveries.conftest import deliver_due, write_events
from tests.deliveries.receiver import Receiver
from tests.deliveries.test_delivery import changed, deliveries, subscribe


@pytest.fixture
def worker_refuses_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CRMC_WEBHOOK_ALLOWED_NETWORKS", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("worker_refuses_loopback")
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_delivery_to_an_address_no_longer_allowed_is_refused_and_not_sent(
    hooks: httpx.AsyncClient,
    database: Database,
    tenant: TenantKeys,
    receiver: Receiver,
    host: str,
) -> None:
    created = await hooks.post(
        "/api/v1/webhook-endpoints",
        json={
            "url": f"http://{host}:{receiver.port}/hook",
            "event_types": ["customer.classification_changed"],
        },
    )
    assert created.status_code == 201, created.text
    endpoint = created.json()
    await write_events(database, tenant.id, changed(str(uuid.uuid4()), "A"))

    await deliver_due(database, tenant.id)

    assert receiver.received == []
    [delivery] = (await deliveries(hooks, endpoint))["items"]
    assert delivery["status"] == "pending"  # retried later, in case the setting changes
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("refused: Address 127.0.0.1 is not public")


@pytest.mark.usefixtures("worker_reaches_loopback")
async def test_a_redirect_is_not_followed(
    hooks: httpx.AsyncClient, database: Database, tenant: TenantKeys, receiver: Receiver
) -> None:
    endpoint = await subscribe(hooks, receiver)
    receiver.answers = [302]
    await write_events(database, tenant.id, changed(str(uuid.uuid4()), "A"))
    await deliver_due(database, tenant.id)
    assert len(receiver.received) == 1
    [delivery] = (await deliveries(hooks, endpoint))["items"]
    assert delivery["attempts"][0]["status_code"] == 302
    assert delivery["status"] == "pending"
