"""The OpenAPI spec is a contract frontends build on: ids, docs, examples, auth scheme."""

import json
import warnings
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi.openapi.utils import get_openapi

from app.core.openapi import examples_from_spec
from tests.conftest import REPO

EXAMPLES_DIR = REPO / "openapi-examples"


@pytest.fixture(scope="module")
def spec(app: Any) -> dict[str, Any]:
    return app.openapi()


def test_no_operation_is_routed_twice(app: Any) -> None:
    # The app the tests use is the one create_app builds; a router included twice (as a
    # test fixture once did) makes FastAPI warn of duplicate operation ids.
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Duplicate Operation ID")
        get_openapi(title=app.title, version=app.version, routes=app.routes)


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def _parameters(spec: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    """The operation's parameters, shared ones (`$ref`) resolved."""
    shared = spec["components"].get("parameters", {})
    return [
        shared[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
        for p in operation.get("parameters", [])
    ]


def test_every_operation_has_a_hand_written_id_summary_description_and_example(
    spec: dict[str, Any],
) -> None:
    ids = []
    for path, method, operation in _operations(spec):
        where = f"{method.upper()} {path}"
        op_id = operation.get("operationId", "")
        assert op_id, where
        assert "_" not in op_id, f"{where}: operationId {op_id!r} looks generated"
        assert operation.get("summary"), where
        assert operation.get("description"), where
        success = [s for s in operation["responses"] if s.startswith("2")]
        assert success, where
        ids.append(op_id)
        if success[0] != "204":
            content = operation["responses"][success[0]].get("content", {})
            assert any("example" in m for m in content.values()), f"{where}: no example"
        if "requestBody" in operation:
            media = operation["requestBody"]["content"].get("application/json", {})
            assert "example" in media, f"{where}: no request example"
    assert len(ids) == len(set(ids)), "operation ids are not unique"


# Authenticated by the sender's signature with the tenant's inbound secret, not a key.
SIGNED = {"/api/v1/webhooks/{tenant_slug}/events"}


def test_api_operations_use_the_bearer_security_scheme(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["ApiKey"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    for path, _method, operation in _operations(spec):
        if path in SIGNED:
            assert operation.get("security") == [{"StandardWebhooks": []}], path
        elif path.startswith("/api/v1/"):
            assert operation.get("security") == [{"ApiKey": []}], path
            names = {p["name"].lower() for p in _parameters(spec, operation)}
            assert "authorization" not in names, f"{path}: auth declared as a header parameter"


def test_error_responses_are_problem_documents(spec: dict[str, Any]) -> None:
    for path, method, operation in _operations(spec):
        for status, response in operation["responses"].items():
            content = response.get("content", {})
            if status.startswith(("4", "5")) and "Problem" in json.dumps(content):
                assert "application/problem+json" in response["content"], (path, method, status)


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    # jsonschema resolves "#/components/..." against the document we give it.
    return {**schema, "components": spec["components"]}


def test_example_files_equal_the_spec_and_validate_against_its_schemas(
    spec: dict[str, Any],
) -> None:
    expected = examples_from_spec(spec)
    on_disk = {
        p.name: json.loads(p.read_text(encoding="utf-8")) for p in EXAMPLES_DIR.glob("*.json")
    }
    assert set(on_disk) == set(expected), (
        "openapi-examples/ is out of date: run `crm-classifier openapi-examples`"
    )
    for name, example in on_disk.items():
        assert example == expected[name], name
    checked = 0
    for _path, _method, operation in _operations(spec):
        op_id = operation["operationId"]
        bodies = operation.get("requestBody", {}).get("content", {})
        if f"{op_id}.request.json" in on_disk:
            schema = bodies["application/json"]["schema"]
            jsonschema.validate(on_disk[f"{op_id}.request.json"], _resolve(schema, spec))
            checked += 1
        for status, response in operation["responses"].items():
            name = f"{op_id}.response.{status}.json"
            if name in on_disk:
                [media] = [m for m in response["content"].values() if "example" in m]
                jsonschema.validate(on_disk[name], _resolve(media["schema"], spec))
                checked += 1
    assert checked == len(on_disk)


async def test_docs_are_served_from_local_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "https://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/static-offline-docs/{asset}" in page.text
        served = await client.get(f"/static-offline-docs/{asset}")
        assert served.status_code == 200
        assert len(served.content) > 10_000
    assert (await client.get("/openapi.json")).json()["openapi"].startswith("3.")


SNAPSHOT = REPO / "tests" / "openapi.snapshot.json"


async def test_the_served_openapi_document_is_byte_for_byte_the_checked_in_snapshot(
    client: httpx.AsyncClient,
) -> None:
    """`/openapi.json` is exactly tests/openapi.snapshot.json (the same members in the same
    order with the same values; the file is the document indented for review).

    Frontends generate their clients from this document, so a refactoring must leave it
    as it is. Changing the API on purpose means regenerating the snapshot as a deliberate
    act, in the same commit as the change, and reading its diff:

        crm-classifier openapi > tests/openapi.snapshot.json
    """
    served = await client.get("/openapi.json")
    snapshot = SNAPSHOT.read_text(encoding="utf-8")
    assert json.dumps(served.json(), ensure_ascii=False, indent=2) + "\n" == snapshot
    compact = json.dumps(json.loads(snapshot), ensure_ascii=False, separators=(",", ":"))
    assert served.content == compact.encode()


def _untyped_objects(node: Any, path: str) -> list[str]:
    """JSON pointers of object schemas that say nothing of their members: no
    `properties`, and `additionalProperties` absent, true or `{}` (a map whose values
    have a schema is typed)."""
    found = []
    if isinstance(node, dict):
        is_object = node.get("type") == "object" or (
            "additionalProperties" in node and "properties" not in node
        )
        values = node.get("additionalProperties")
        if is_object and not node.get("properties") and values in (None, True, {}):
            found.append(path)
        for key, value in node.items():
            found += _untyped_objects(value, f"{path}/{key.replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _untyped_objects(value, f"{path}/{index}")
    return found


def test_every_object_in_the_spec_is_typed(spec: dict[str, Any]) -> None:
    """Component schemas, request bodies and responses: every object has its members
    typed, or is a map with typed values (so generated clients get no `unknown`)."""
    assert _untyped_objects(spec, "#") == [], "untyped objects in the spec"


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    """A `$ref` to a component the spec lacks breaks every generator (openapi-typescript
    stops at the first); hand-written parts of the spec must put their components in."""
    missing = set()
    for ref in _references(spec):
        node: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~"), None) if node else None
        if node is None:
            missing.add(ref)
    assert missing == set()


def _anonymous_union_members(node: Any, path: str) -> list[str]:
    """Enums and objects written inline as a branch of `anyOf`/`oneOf` (a nullable enum
    is `anyOf: [enum, null]`): openapi-python-client names their classes after where
    they sit (`customer_create_size_type_0`), so they must be components."""
    found = []
    if isinstance(node, dict):
        for key in ("anyOf", "oneOf"):
            for index, branch in enumerate(node.get(key, [])):
                if "$ref" not in branch and (
                    "enum" in branch or "properties" in branch or branch.get("type") == "object"
                ):
                    found.append(f"{path}/{key}/{index}")
        for key, value in node.items():
            found += _anonymous_union_members(value, f"{path}/{key.replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _anonymous_union_members(value, f"{path}/{index}")
    return found


def test_enums_and_objects_in_unions_are_named_components(spec: dict[str, Any]) -> None:
    assert _anonymous_union_members(spec, "#") == []
