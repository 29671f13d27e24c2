"""The objects the spec once left free-form answer as their schemas now say: change
requests of every kind (payload, diff, result), audit events' before and after, custom
fields' attributes and bulk items' errors.

Each answer is validated against the served spec with every documented object closed
(`additionalProperties: false` where the schema lists properties), so a member the code
adds without documenting it fails here, as would a value of another type.
"""

import copy
from typing import Any

import httpx
import jsonschema
import pytest

from app.models import Role
from app.rules.templates import RELATIONSHIP
from tests.conftest import TenantKeys


@pytest.fixture(scope="module")
def closed_spec(app: Any) -> dict[str, Any]:
    """The spec with every object that lists its properties closed to others."""
    spec = copy.deepcopy(app.openapi())

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(spec["components"]["schemas"])
    return spec


def assert_valid(spec: dict[str, Any], value: Any, component: str) -> None:
    schema = {"$ref": f"#/components/schemas/{component}", "components": spec["components"]}
    jsonschema.validate(value, schema)


async def _tree(api: httpx.AsyncClient, *codes: str) -> dict[str, Any]:
    tree = await api.post("/api/v1/category-trees", json={"key": "t", "name": "关系"})
    assert tree.status_code == 201, tree.text
    for code in codes:
        made = await api.post(
            f"/api/v1/category-trees/{tree.json()['id']}/categories",
            json={"code": code, "name": f"{code} 客户"},
        )
        assert made.status_code == 201, made.text
    switched = await api.patch(
        f"/api/v1/category-trees/{tree.json()['id']}", json={"requires_approval": True}
    )
    assert switched.status_code == 200, switched.text
    return tree.json()


async def test_change_requests_of_every_kind_answer_as_documented(
    client: httpx.AsyncClient, tenant: TenantKeys, closed_spec: dict[str, Any]
) -> None:
    editor, approver = tenant.headers(Role.EDITOR), tenant.headers(Role.APPROVER)
    admin = tenant.headers(Role.ADMIN)
    client.headers.update(admin)
    codes = ("CORE", "POTENTIAL", "REGULAR", "LOW", "OLD")
    tree = await _tree(client, *codes)
    listed = await client.get(f"/api/v1/category-trees/{tree['id']}/categories")
    by_code = {c["code"]: c for c in listed.json()["items"]}
    ruleset = await client.post(
        "/api/v1/rulesets", json={"tree_id": tree["id"], "name": "关系规则"}
    )
    version = await client.post(
        f"/api/v1/rulesets/{ruleset.json()['id']}/versions", json=RELATIONSHIP["ruleset"]
    )
    assert version.status_code == 201, version.text

    filed = [
        await client.post(
            f"/api/v1/category-trees/{tree['id']}/categories",
            json={"code": "STRAT", "name": "战略客户", "playbook": {"sla_days": 3}},
            headers=editor,
        ),
        await client.patch(
            f"/api/v1/categories/{by_code['CORE']['id']}",
            json={"name": "重点客户", "description": "年采购≥600万"},
            headers=editor,
        ),
        await client.post(
            f"/api/v1/categories/{by_code['LOW']['id']}/move",
            json={"parent_id": by_code["REGULAR"]["id"]},
            headers=editor,
        ),
        await client.delete(f"/api/v1/categories/{by_code['OLD']['id']}", headers=editor),
        await client.post(
            f"/api/v1/rulesets/{ruleset.json()['id']}/versions/1/publish", headers=editor
        ),
    ]
    for response in filed:
        assert response.status_code == 202, response.text
    request_ids = [
        r.json()["change_request_id"] if "change_request_id" in r.json() else r.json()["id"]
        for r in filed
    ]
    for request_id in request_ids:
        approved = await client.post(
            f"/api/v1/change-requests/{request_id}/approve", headers=approver
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["result"], approved.text
        assert_valid(closed_spec, approved.json(), "ChangeRequestOut")
    page = await client.get("/api/v1/change-requests", params={"limit": 10})
    assert {r["kind"] for r in page.json()["items"]} == {
        "category.create", "category.update", "category.move", "category.delete",
        "ruleset.publish",
    }  # fmt: skip
    assert_valid(closed_spec, page.json(), "ChangeRequestPage")

    events = await client.get("/api/v1/audit-events", params={"limit": 200})
    assert events.status_code == 200, events.text
    assert {e["entity_type"] for e in events.json()["items"]} >= {
        "category", "change_request", "ruleset_version",
    }  # fmt: skip
    assert_valid(closed_spec, events.json(), "AuditEventPage")


async def test_attributes_answer_as_documented(
    api: httpx.AsyncClient, closed_spec: dict[str, Any]
) -> None:
    kinds = {"score": "integer", "rate": "number", "vip": "boolean", "since": "date",
             "labels": "string_list", "memo": "string"}  # fmt: skip
    for key, kind in kinds.items():
        made = await api.post(
            "/api/v1/fields/custom", json={"key": key, "type": kind, "label_zh": key}
        )
        assert made.status_code == 201, made.text
    attributes = {
        "score": 7, "rate": "0.35", "vip": True, "since": "2024-03-01",
        "labels": ["华东", "重点"], "memo": None,
    }  # fmt: skip
    created = await api.post(
        "/api/v1/customers", json={"code": "C1", "name": "华信", "attributes": attributes}
    )
    assert created.status_code == 201, created.text
    assert created.json()["attributes"]["labels"] == ["华东", "重点"]
    assert_valid(closed_spec, created.json(), "CustomerOut")


async def test_bulk_item_errors_answer_as_documented(
    api: httpx.AsyncClient, closed_spec: dict[str, Any]
) -> None:
    response = await api.post(
        "/api/v1/customers/bulk",
        json={"items": [{"code": "C1", "name": "好"}, {"code": "C2", "employees": -1}]},
    )
    assert response.status_code == 200, response.text
    [error] = response.json()["errors"]
    assert error["index"] == 1
    assert {tuple(issue["loc"]) for issue in error["errors"]} == {("name",), ("employees",)}
    assert_valid(closed_spec, response.json(), "BulkResult")
