"""Outbound webhook endpoints: admin-only CRUD, secret shown once, ETags, SSRF refusals."""

import httpx
import pytest
from standardwebhooks import Webhook

from app.models import Role
from tests.conftest import TenantKeys
from tests.deliveries.receiver import Receiver

EVENTS = ["customer.classification_changed", "run.completed"]


async def test_an_admin_creates_lists_reads_updates_and_deletes_an_endpoint(
    hooks: httpx.AsyncClient, receiver: Receiver
) -> None:
    created = await hooks.post(
        "/api/v1/webhook-endpoints",
        json={"url": receiver.url(), "event_types": EVENTS, "description": "ERP"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    Webhook(body["secret"])  # a secret the library accepts
    assert body["enabled"] is True
    assert body["event_types"] == EVENTS
    endpoint_id = body["id"]

    listed = await hooks.get("/api/v1/webhook-endpoints")
    assert [e["id"] for e in listed.json()["items"]] == [endpoint_id]
    assert "secret" not in listed.json()["items"][0]

    read = await hooks.get(f"/api/v1/webhook-endpoints/{endpoint_id}")
    assert read.status_code == 200
    assert "secret" not in read.json()
    etag = read.headers["ETag"]

    updated = await hooks.patch(
        f"/api/v1/webhook-endpoints/{endpoint_id}",
        json={"enabled": False, "event_types": ["run.failed"]},
        headers={"If-Match": etag},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["enabled"] is False
    assert updated.json()["event_types"] == ["run.failed"]

    stale = await hooks.delete(
        f"/api/v1/webhook-endpoints/{endpoint_id}", headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    deleted = await hooks.delete(f"/api/v1/webhook-endpoints/{endpoint_id}")
    assert deleted.status_code == 204
    gone = await hooks.get(f"/api/v1/webhook-endpoints/{endpoint_id}")
    assert gone.status_code == 404


async def test_only_an_admin_manages_endpoints(
    hooks: httpx.AsyncClient, tenant: TenantKeys, receiver: Receiver
) -> None:
    for role in (Role.VIEWER, Role.EDITOR, Role.APPROVER):
        refused = await hooks.post(
            "/api/v1/webhook-endpoints",
            json={"url": receiver.url(), "event_types": EVENTS},
            headers=tenant.headers(role),
        )
        assert refused.status_code == 403
        listed = await hooks.get("/api/v1/webhook-endpoints", headers=tenant.headers(role))
        assert listed.status_code == 403


async def test_another_tenants_endpoint_is_not_found(
    hooks: httpx.AsyncClient, make_tenant: object, receiver: Receiver
) -> None:
    created = await hooks.post(
        "/api/v1/webhook-endpoints", json={"url": receiver.url(), "event_types": EVENTS}
    )
    other: TenantKeys = await make_tenant()  # type: ignore[operator]
    endpoint = f"/api/v1/webhook-endpoints/{created.json()['id']}"
    assert (await hooks.get(endpoint, headers=other.headers())).status_code == 404
    assert (await hooks.delete(endpoint, headers=other.headers())).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/x", "event_types": EVENTS},
        {"url": "https://example.com/x", "event_types": []},
        {"url": "https://example.com/x", "event_types": ["order.created"]},
        {"url": "https://example.com/x", "event_types": ["run.failed", "run.failed"]},
        {"url": "https://user:pw@example.com/x", "event_types": EVENTS},
    ],
)
async def test_invalid_endpoints_are_refused(api: httpx.AsyncClient, body: dict) -> None:
    refused = await api.post("/api/v1/webhook-endpoints", json=body)
    assert refused.status_code == 422, refused.text
    assert (await api.get("/api/v1/webhook-endpoints")).json()["items"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",  # a name that resolves to 127.0.0.1
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
async def test_urls_reaching_internal_addresses_are_refused_by_default(
    api: httpx.AsyncClient, url: str
) -> None:
    refused = await api.post("/api/v1/webhook-endpoints", json={"url": url, "event_types": EVENTS})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["loc"] == ["body", "url"]


async def test_an_update_to_an_internal_url_is_refused(
    api: httpx.AsyncClient, hooks: httpx.AsyncClient, receiver: Receiver
) -> None:
    created = await hooks.post(
        "/api/v1/webhook-endpoints", json={"url": receiver.url(), "event_types": EVENTS}
    )
    endpoint = f"/api/v1/webhook-endpoints/{created.json()['id']}"
    refused = await api.patch(endpoint, json={"url": "http://10.0.0.8/hook"})
    assert refused.status_code == 422
    assert (await api.get(endpoint)).json()["url"] == receiver.url()


async def test_the_allow_list_does_not_open_other_private_networks(
    hooks: httpx.AsyncClient,
) -> None:
    for url in ("http://10.1.2.3/hook", "http://169.254.169.254/"):
        refused = await hooks.post(
            "/api/v1/webhook-endpoints", json={"url": url, "event_types": EVENTS}
        )
        assert refused.status_code == 422
