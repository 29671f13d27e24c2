"""The tenant's industry list: seeded with the standard hierarchy, replaceable."""

import httpx

from app.customers.industries import STANDARD_INDUSTRIES
from tests.core.test_errors import assert_problem


async def test_a_new_tenant_has_the_standard_hierarchy(api: httpx.AsyncClient) -> None:
    items = (await api.get("/api/v1/industries")).json()["items"]
    assert [i["code"] for i in items] == sorted(STANDARD_INDUSTRIES)
    assert {"code": "制造业-电子", "label_en": "Manufacturing - Electronics"} in items


async def test_the_list_is_replaced_whole_and_children_need_parents(
    api: httpx.AsyncClient,
) -> None:
    orphan = await api.put("/api/v1/industries", json={"items": [{"code": "能源-光伏"}]})
    assert_problem(orphan, 422)
    replaced = await api.put(
        "/api/v1/industries",
        json={"items": [{"code": "能源"}, {"code": "能源-光伏", "label_en": "Energy - Solar"}]},
    )
    assert [i["code"] for i in replaced.json()["items"]] == ["能源", "能源-光伏"]
    assert len((await api.get("/api/v1/industries")).json()["items"]) == 2
