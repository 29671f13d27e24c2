"""Authentication and authorisation, enforced in one place for every /api/v1 route."""

import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from app.models import Role
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem


async def test_a_missing_key_is_401_with_a_bearer_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/api-keys")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer nonsense",
        "Bearer crmc_aaaaaaaaaaaa_" + "a" * 43,
        "Basic dXNlcjpwYXNz",
        "Bearer ",
    ],
)
async def test_a_bad_key_is_401(client: httpx.AsyncClient, authorization: str) -> None:
    assert_problem(
        await client.get("/api/v1/tenant", headers={"Authorization": authorization}), 401
    )


async def test_a_key_with_a_wrong_secret_is_401(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    real = tenant.keys[Role.ADMIN]
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    response = await client.get("/api/v1/tenant", headers={"Authorization": f"Bearer {forged}"})
    assert_problem(response, 401)


async def test_a_revoked_key_stops_working_at_once(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    viewer = tenant.headers(Role.VIEWER)
    assert (await client.get("/api/v1/tenant", headers=viewer)).status_code == 200
    revoked = await client.delete(
        f"/api/v1/api-keys/{tenant.key_ids[Role.VIEWER]}", headers=tenant.headers()
    )
    assert revoked.status_code == 204
    assert_problem(await client.get("/api/v1/tenant", headers=viewer), 401)
    again = await client.delete(
        f"/api/v1/api-keys/{tenant.key_ids[Role.VIEWER]}", headers=tenant.headers()
    )
    assert again.status_code == 204


@pytest.mark.parametrize(
    ("role", "expected"),
    [(Role.VIEWER, 403), (Role.EDITOR, 403), (Role.APPROVER, 403), (Role.ADMIN, 201)],
)
async def test_only_admins_create_keys(
    client: httpx.AsyncClient, tenant: TenantKeys, role: Role, expected: int
) -> None:
    response = await client.post(
        "/api/v1/api-keys", json={"name": "n", "role": "viewer"}, headers=tenant.headers(role)
    )
    assert response.status_code == expected, response.text
    if expected == 403:
        assert_problem(response, 403)


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_reads_the_tenant(
    client: httpx.AsyncClient, tenant: TenantKeys, role: Role
) -> None:
    response = await client.get("/api/v1/tenant", headers=tenant.headers(role))
    assert response.status_code == 200
    assert response.json()["slug"] == tenant.slug


async def test_another_tenants_key_is_indistinguishable_from_a_missing_one(
    client: httpx.AsyncClient, make_tenant: Any
) -> None:
    ours, theirs = await make_tenant(), await make_tenant()
    foreign = await client.delete(
        f"/api/v1/api-keys/{theirs.key_ids[Role.VIEWER]}", headers=ours.headers()
    )
    missing = await client.delete(f"/api/v1/api-keys/{uuid.uuid4()}", headers=ours.headers())
    assert_problem(foreign, 404)
    assert_problem(missing, 404)
    assert foreign.json()["detail"] == missing.json()["detail"]
    # and their key still works
    still = await client.get("/api/v1/tenant", headers=theirs.headers(Role.VIEWER))
    assert still.status_code == 200


async def test_lists_show_only_the_callers_tenant(
    client: httpx.AsyncClient, make_tenant: Any
) -> None:
    ours, theirs = await make_tenant(), await make_tenant()
    listed = await client.get("/api/v1/api-keys", headers=ours.headers())
    ids = {item["id"] for item in listed.json()["items"]}
    assert ids == {str(i) for i in ours.key_ids.values()}
    assert not ids & {str(i) for i in theirs.key_ids.values()}


async def test_a_created_key_shows_its_secret_once_and_works(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "ERP 同步", "role": "editor"},
        headers=tenant.headers(),
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith(f"crmc_{body['prefix']}_")
    listed = await client.get("/api/v1/api-keys", headers=tenant.headers())
    assert all("secret" not in item for item in listed.json()["items"])
    me = await client.get("/api/v1/tenant", headers={"Authorization": f"Bearer {body['secret']}"})
    assert me.status_code == 200


async def test_x_actor_is_refused_for_a_non_delegating_key(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    response = await client.get(
        "/api/v1/tenant", headers=tenant.headers(Role.VIEWER, **{"X-Actor": "alice"})
    )
    assert_problem(response, 403)


async def test_a_delegating_key_records_the_named_user_as_actor(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "by alice", "role": "viewer"},
        headers=tenant.headers(Role.ADMIN, **{"X-Actor": quote("张伟")}),
    )
    assert created.status_code == 201
    events = await client.get(
        "/api/v1/audit-events",
        params={"entity_type": "api_key", "entity_id": created.json()["id"]},
        headers=tenant.headers(),
    )
    [event] = events.json()["items"]
    assert event["actor"] == "user:张伟"
    assert event["action"] == "create"
    assert event["after"]["name"] == "by alice"
    assert created.json()["created_by"] == "user:张伟"
