"""Custom-field attributes of a customer: a value that does not fit its field is a 422 at
its path (single) or an item error (bulk), and never reaches storage where it would
break every later rule on the field."""

import httpx

from tests.core.test_errors import assert_problem


async def _fields(api: httpx.AsyncClient) -> None:
    for key, kind in (("score", "integer"), ("ratio", "number")):
        created = await api.post(
            "/api/v1/fields/custom", json={"key": key, "type": kind, "label_zh": key}
        )
        assert created.status_code == 201, created.text


async def test_an_unknown_or_ill_typed_attribute_is_a_422_at_its_path(
    api: httpx.AsyncClient,
) -> None:
    await _fields(api)
    for attributes, key in (({"nope": 1}, "nope"), ({"score": "many"}, "score"),
                            ({"score": 2**63}, "score"), ({"ratio": 1e300}, "ratio")):  # fmt: skip
        response = await api.post(
            "/api/v1/customers", json={"code": "A", "name": "甲", "attributes": attributes}
        )
        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"] == ["body", "attributes", key]
    created = await api.post("/api/v1/customers", json={"code": "A", "name": "甲"})
    customer = f"/api/v1/customers/{created.json()['id']}"
    patched = await api.patch(customer, json={"attributes": {"ratio": 1e18}})
    assert assert_problem(patched, 422)["errors"][0]["loc"] == ["body", "attributes", "ratio"]
    assert (await api.get(customer)).json()["attributes"] == {}


async def test_an_infinite_number_attribute_is_a_422(api: httpx.AsyncClient) -> None:
    await _fields(api)
    response = await api.post(
        "/api/v1/customers",
        content=b'{"code": "A", "name": "a", "attributes": {"ratio": 1e999999}}',
        headers={"content-type": "application/json"},
    )
    assert assert_problem(response, 422)["errors"][0]["loc"] == ["body", "attributes", "ratio"]


async def test_attributes_at_the_ends_of_their_range_are_stored_and_filtered(
    api: httpx.AsyncClient,
) -> None:
    await _fields(api)
    bulk = await api.post("/api/v1/customers/bulk", json={"items": [
        {"code": "MAX", "name": "大", "attributes": {"score": 2**63 - 1, "ratio": 1e17}},
        {"code": "OVER", "name": "超", "attributes": {"score": 2**63}},
    ]})  # fmt: skip
    assert bulk.status_code == 200, bulk.text
    assert [(e["index"], e["errors"][0]["loc"]) for e in bulk.json()["errors"]] == [
        (1, ["attributes"])
    ]
    response = await api.get("/api/v1/customers", params={"when": "score >= 1 and ratio > 1"})
    assert response.status_code == 200, response.text
    assert [c["code"] for c in response.json()["items"]] == ["MAX"]
