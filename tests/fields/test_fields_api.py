"""The field catalog and custom fields, as a rule editor and an integration use them."""

import httpx

from app.facts.metrics import METRIC_NAMES
from tests.core.test_errors import assert_problem


async def test_the_catalog_lists_profile_fields_and_every_metric_with_operators(
    api: httpx.AsyncClient,
) -> None:
    fields = {f["key"]: f for f in (await api.get("/api/v1/fields")).json()["items"]}
    assert set(METRIC_NAMES) <= set(fields)
    amount = fields["order_amount_12m"]
    assert (amount["kind"], amount["type"], amount["unit"]) == ("metric", "number", "CNY")
    assert amount["label"] == amount["label_zh"]
    assert "between" in amount["operators"]
    assert fields["size"]["enum_values"] == ["small", "medium", "large"]
    assert "within_last_days" in fields["last_order_date"]["operators"]
    english = await api.get("/api/v1/fields", headers={"Accept-Language": "en"})
    assert {f["key"]: f["label"] for f in english.json()["items"]}["order_amount_12m"] == (
        amount["label_en"]
    )


async def test_a_custom_field_appears_in_the_catalog_and_types_attributes(
    api: httpx.AsyncClient,
) -> None:
    created = await api.post(
        "/api/v1/fields/custom",
        json={"key": "credit_rating", "type": "enum", "label_zh": "信用评级",
              "enum_values": ["AAA", "AA", "A"]},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    fields = {f["key"]: f for f in (await api.get("/api/v1/fields")).json()["items"]}
    assert fields["credit_rating"]["kind"] == "custom"
    assert fields["credit_rating"]["operators"] == [
        "eq",
        "ne",
        "in",
        "not_in",
        "is_null",
        "is_not_null",
    ]

    ok = await api.post(
        "/api/v1/customers",
        json={"code": "A1", "name": "n", "attributes": {"credit_rating": "AA"}},
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["attributes"] == {"credit_rating": "AA"}
    for attributes in ({"credit_rating": "C"}, {"unknown": 1}):
        bulk = await api.post(
            "/api/v1/customers/bulk",
            json={"items": [{"code": "A2", "name": "n", "attributes": attributes}]},
        )
        assert_problem(bulk, 422)


async def test_custom_field_keys_and_labels_cannot_clash(api: httpx.AsyncClient) -> None:
    builtin = await api.post(
        "/api/v1/fields/custom", json={"key": "region", "type": "string", "label_zh": "地区X"}
    )
    assert_problem(builtin, 422)
    label = await api.post(
        "/api/v1/fields/custom",
        json={"key": "amount_x", "type": "number", "label_zh": "近12个月交易金额"},
    )
    assert_problem(label, 422)
    enum_without_values = await api.post(
        "/api/v1/fields/custom", json={"key": "grade", "type": "enum", "label_zh": "等级"}
    )
    assert_problem(enum_without_values, 422)
    first = await api.post(
        "/api/v1/fields/custom", json={"key": "grade", "type": "string", "label_zh": "等级"}
    )
    assert first.status_code == 201
    again = await api.post(
        "/api/v1/fields/custom", json={"key": "grade", "type": "string", "label_zh": "等级2"}
    )
    assert_problem(again, 409)


async def test_updating_honours_if_match_and_deleting_removes_values(
    api: httpx.AsyncClient,
) -> None:
    created = await api.post(
        "/api/v1/fields/custom", json={"key": "score", "type": "integer", "label_zh": "评分"}
    )
    etag = created.headers["etag"]
    await api.post(
        "/api/v1/customers", json={"code": "S1", "name": "n", "attributes": {"score": 7}}
    )
    renamed = await api.patch(
        "/api/v1/fields/custom/score", json={"label_en": "Score"}, headers={"If-Match": etag}
    )
    assert renamed.json()["label_en"] == "Score"
    stale = await api.patch(
        "/api/v1/fields/custom/score", json={"label_en": "X"}, headers={"If-Match": etag}
    )
    assert_problem(stale, 412)
    assert (await api.delete("/api/v1/fields/custom/score")).status_code == 204
    customer = (await api.get("/api/v1/customers/by-code/S1")).json()
    assert customer["attributes"] == {}
    assert_problem(await api.delete("/api/v1/fields/custom/score"), 404)
