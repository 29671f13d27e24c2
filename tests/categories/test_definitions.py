"""Trees from definitions (the hook templates are installed through)."""

import uuid
from typing import Any

import httpx
import pytest

from app.categories.definitions import create_tree_from_definition
from app.categories.exceptions import DepthExceeded, TreeKeyTaken
from app.core.auth import Principal
from app.core.db import Database
from app.models import Role
from app.rules.templates import VALUE
from tests.conftest import TenantKeys


def _principal(tenant: TenantKeys) -> Principal:
    return Principal(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        tenant_time_zone="Asia/Shanghai",
        api_key_id=tenant.key_ids[Role.ADMIN],
        role=Role.ADMIN,
        actor="user:模板安装",
    )


async def test_a_template_definition_becomes_a_tree_with_playbooks(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    async with database.sessionmaker() as session, session.begin():
        tree = await create_tree_from_definition(session, _principal(tenant), VALUE)
        tree_id = tree.id
    listed = (await api.get(f"/api/v1/category-trees/{tree_id}/categories")).json()["items"]
    assert [c["code"] for c in listed] == ["HIGH", "MEDIUM", "LOW", "DEFAULT"]
    high = listed[0]
    assert (high["name"], high["name_en"]) == ("高价值客户", "High value")
    assert high["playbook"] == {
        "next_action": "销售总监/主管跟进,定期上门拜访,提供定制化方案",
        "owner_role": "销售总监",
        "sla_days": 7,
    }
    read = (await api.get(f"/api/v1/category-trees/{tree_id}")).json()
    assert (read["key"], read["name"], read["name_en"]) == ("value", "价值维度", "Value")


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"code": f"L{depth}", "name": f"第{depth}级"}
    for level in range(depth - 1, 0, -1):
        node = {"code": f"L{level}", "name": f"第{level}级", "children": [node]}
    return node


async def test_nested_categories_are_created_level_by_level_in_the_callers_transaction(
    api: httpx.AsyncClient, database: Database, tenant: TenantKeys
) -> None:
    definition = {"key": "region", "name": "地域", "max_depth": 3, "categories": [_nested(3)]}
    async with database.sessionmaker() as session, session.begin():
        tree = await create_tree_from_definition(session, _principal(tenant), definition)
        tree_id = tree.id
    listed = (await api.get(f"/api/v1/category-trees/{tree_id}/categories")).json()["items"]
    assert [(c["code"], c["level"]) for c in listed] == [
        ("L1", 1),
        ("L2", 2),
        ("L3", 3),
        ("DEFAULT", 1),
    ]
    too_deep = {"key": "deep", "name": "深", "max_depth": 2, "categories": [_nested(3)]}
    with pytest.raises(DepthExceeded):
        async with database.sessionmaker() as session, session.begin():
            await create_tree_from_definition(session, _principal(tenant), too_deep)
    # Rolled back with the caller's transaction: no half-made tree.
    keys = [t["key"] for t in (await api.get("/api/v1/category-trees")).json()["items"]]
    assert keys == ["region"]
    with pytest.raises(TreeKeyTaken):
        async with database.sessionmaker() as session, session.begin():
            await create_tree_from_definition(
                session, _principal(tenant), {**definition, "categories": []}
            )
    assert uuid.UUID(str(tree_id))
