"""GET /api/v1/data-quality/duplicates: groups by USCC and by normalised name."""

from typing import Any

import httpx

from app.core.db import Database
from app.models import Role
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem
from tests.quality.factories import add_customers, customer_row, valid_uscc


async def _groups(client: httpx.AsyncClient, tenant: TenantKeys, **params: Any) -> dict[str, Any]:
    response = await client.get(
        "/api/v1/data-quality/duplicates", params=params, headers=tenant.headers(Role.VIEWER)
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_customers_sharing_a_uscc_form_one_group_oldest_first(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    t, shared = tenant.id, valid_uscc(77)
    ids = await add_customers(
        database, t,
        customer_row(t, 1, name="甲公司", uscc=shared),
        customer_row(t, 2, name="乙公司"),
        customer_row(t, 3, name="丙公司", uscc=shared),
        customer_row(t, 4, name="丁公司", uscc=None),
        customer_row(t, 5, name="戊公司", uscc=None),
    )  # fmt: skip
    [group] = (await _groups(client, tenant))["items"]
    assert (group["reason"], group["key"], group["customer_count"]) == ("uscc", shared, 2)
    assert [c["id"] for c in group["customers"]] == [str(ids[0]), str(ids[2])]
    assert [c["code"] for c in group["customers"]] == ["C00001", "C00003"]
    assert set(group["customers"][0]) == {"id", "code", "name", "created_at"}


async def test_name_variants_of_one_company_form_one_group_and_other_companies_do_not(
    client: httpx.AsyncClient, tenant: TenantKeys, make_tenant: Any, database: Database
) -> None:
    t = tenant.id
    variants = [
        "上海华信电子科技有限公司",
        "上海华信电子科技（集团）股份有限公司",
        "上海 华信 电子科技 有限责任公司",
        "【上海华信电子科技】有限公司。",
        "上海华信电子科技集团",
    ]
    others = ["北京华信电子科技有限公司", "上海华信电子有限公司", "ＨＵＡＸＩＮ Ｃｏ．，Ｌｔｄ．"]
    await add_customers(
        database, t, *(customer_row(t, i, name=n) for i, n in enumerate(variants + others))
    )
    theirs = await make_tenant()  # the same name in another tenant is not our duplicate
    await add_customers(database, theirs.id, customer_row(theirs.id, 0, name=variants[0]))

    [group] = (await _groups(client, tenant))["items"]
    assert (group["reason"], group["key"]) == ("name", "上海华信电子科技")
    assert [c["name"] for c in group["customers"]] == variants


async def test_groups_by_uscc_come_first_and_pages_follow_the_cursor_without_repeats(
    client: httpx.AsyncClient, tenant: TenantKeys, database: Database
) -> None:
    t = tenant.id
    rows = []
    for g in range(3):  # three USCC groups of two, three name groups of two
        rows += [customer_row(t, 10 * g + k, uscc=valid_uscc(1000 + g)) for k in range(2)]
        rows += [customer_row(t, 10 * g + 5 + k, name=f"名称组{g}有限公司") for k in range(2)]
    await add_customers(database, t, *rows)

    seen: list[tuple[str, str]] = []
    cursor = None
    for _ in range(10):
        page = await _groups(client, tenant, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [(g["reason"], g["key"]) for g in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [reason for reason, _ in seen] == ["uscc"] * 3 + ["name"] * 3
    assert len(set(seen)) == 6
    only_names = await _groups(client, tenant, reason="name")
    assert {g["key"] for g in only_names["items"]} == {f"名称组{g}" for g in range(3)}


async def test_a_bad_cursor_or_limit_is_a_422(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    viewer = tenant.headers(Role.VIEWER)
    for params in ({"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 501}, {"reason": "x"}):
        response = await client.get(
            "/api/v1/data-quality/duplicates", params=params, headers=viewer
        )
        assert_problem(response, 422)
