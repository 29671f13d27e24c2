"""Merging duplicate customers carries their categories to the survivor (the merge hook)."""

import uuid

import httpx

from app.core.auth import Principal
from app.core.db import Database
from app.models import Role
from app.quality.merge import merge_customers
from tests.categories.factories import (
    assign,
    assigned_codes,
    make_category,
    make_customers,
    make_tree,
)
from tests.conftest import TenantKeys


async def test_a_merge_moves_assignments_only_into_trees_where_the_survivor_has_none(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    value, risk = await make_tree(api, "value"), await make_tree(api, "risk")
    high, low = await make_category(api, value, "HIGH"), await make_category(api, value, "LOW")
    churn = await make_category(api, risk, "CHURN")
    survivor, duplicate = await make_customers(api, 2)
    await assign(api, survivor, value, low)
    await assign(api, duplicate, value, high)
    await assign(api, duplicate, risk, churn, reason="三个月无订单")
    principal = Principal(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        tenant_time_zone="Asia/Shanghai",
        api_key_id=tenant.key_ids[Role.EDITOR],
        role=Role.EDITOR,
        actor="user:合并",
    )
    async with database.sessionmaker() as session, session.begin():
        merged = await merge_customers(
            session, principal, uuid.UUID(survivor), [uuid.UUID(duplicate)], None
        )
    assert merged.moved["assignments"] == 1
    assert await assigned_codes(api, survivor, value) == ["LOW"]  # the survivor's own wins
    assert await assigned_codes(api, survivor, risk) == ["CHURN"]
    history = (await api.get(f"/api/v1/customers/{survivor}/history")).json()["items"]
    assert {h["to_category"]["code"] for h in history} == {"LOW", "HIGH", "CHURN"}
