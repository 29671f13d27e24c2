"""A NUL in a path parameter is refused like one in a query string: 422 before any
route runs, never a 500 from PostgreSQL, which cannot store or compare it."""

import httpx

from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem


async def test_a_nul_in_a_path_parameter_is_a_422_on_every_method(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    requests = (
        ("GET", "/api/v1/customers/by-code/A%00B"),
        ("DELETE", "/api/v1/fields/custom/a%00"),
        ("PATCH", "/api/v1/fields/custom/a%00"),
        ("GET", "/api/v1/no-such-route/%00"),
    )
    for method, path in requests:
        response = await client.request(
            method, path, headers=tenant.headers(), json={"label_zh": "x"}
        )
        body = assert_problem(response, 422)
        assert body["errors"] == [
            {"loc": ["path"], "msg": "NUL character", "type": "nul_character"}
        ]


async def test_a_percent_sign_that_is_not_a_nul_still_reaches_the_route(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    response = await client.get("/api/v1/customers/by-code/A%2500B", headers=tenant.headers())
    assert_problem(response, 404)
