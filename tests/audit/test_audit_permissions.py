"""The audit log shows each event to whoever may read the entity it describes: the key
inventory and the tenant's settings are the admin's, through GET /audit-events too."""

import httpx
import pytest

from app.models import Role
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem

BELOW_ADMIN = [Role.VIEWER, Role.EDITOR, Role.APPROVER]


async def _key_tenant_and_customer_events(client: httpx.AsyncClient, tenant: TenantKeys) -> str:
    """An api_key, a tenant and a customer event; the new key's id."""
    created = await client.post(
        "/api/v1/api-keys", json={"name": "ERP 同步", "role": "editor"}, headers=tenant.headers()
    )
    assert created.status_code == 201, created.text
    patched = await client.patch("/api/v1/tenant", json={"name": "改名"}, headers=tenant.headers())
    assert patched.status_code == 200, patched.text
    customer = await client.post(
        "/api/v1/customers", json={"code": "A", "name": "甲"}, headers=tenant.headers()
    )
    assert customer.status_code == 201, customer.text
    return str(created.json()["id"])


async def _entity_types(
    client: httpx.AsyncClient, tenant: TenantKeys, role: Role, **params: str
) -> set[str]:
    response = await client.get("/api/v1/audit-events", params=params, headers=tenant.headers(role))
    assert response.status_code == 200, response.text
    return {event["entity_type"] for event in response.json()["items"]}


@pytest.mark.parametrize("role", BELOW_ADMIN)
async def test_events_of_keys_and_settings_are_left_out_of_a_non_admins_audit_log(
    client: httpx.AsyncClient, tenant: TenantKeys, role: Role
) -> None:
    key_id = await _key_tenant_and_customer_events(client, tenant)
    assert await _entity_types(client, tenant, role) == {"customer"}
    assert await _entity_types(client, tenant, role, entity_id=key_id) == set()
    admin = "key:" + tenant.keys[Role.ADMIN].split("_")[1]
    assert await _entity_types(client, tenant, role, actor=admin) == {"customer"}


@pytest.mark.parametrize("role", BELOW_ADMIN)
@pytest.mark.parametrize("entity_type", ["api_key", "tenant"])
async def test_asking_for_key_or_settings_events_below_admin_is_403(
    client: httpx.AsyncClient, tenant: TenantKeys, role: Role, entity_type: str
) -> None:
    await _key_tenant_and_customer_events(client, tenant)
    response = await client.get(
        "/api/v1/audit-events",
        params={"entity_type": entity_type},
        headers=tenant.headers(role, **{"Accept-Language": "en"}),
    )
    body = assert_problem(response, 403)
    assert "need role admin" in body["detail"]


async def test_admins_read_every_event(client: httpx.AsyncClient, tenant: TenantKeys) -> None:
    key_id = await _key_tenant_and_customer_events(client, tenant)
    assert await _entity_types(client, tenant, Role.ADMIN) == {"api_key", "tenant", "customer"}
    events = await client.get(
        "/api/v1/audit-events", params={"entity_type": "api_key"}, headers=tenant.headers()
    )
    [event] = events.json()["items"]
    assert (event["entity_id"], event["after"]["name"]) == (key_id, "ERP 同步")
