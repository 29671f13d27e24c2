"""The data-quality operations are documented like every other: ids, docs, valid examples."""

from typing import Any

import jsonschema
import pytest

from app.core.openapi import examples_from_spec

OPERATIONS = {
    ("/api/v1/data-quality", "get"): "getDataQuality",
    ("/api/v1/data-quality/duplicates", "get"): "listDuplicateCustomers",
    ("/api/v1/customers/{customer_id}/merge", "post"): "mergeCustomers",
}


@pytest.fixture(scope="module")
def spec(app: Any) -> dict[str, Any]:
    return app.openapi()


def test_each_operation_has_its_hand_written_id_summary_and_description(
    spec: dict[str, Any],
) -> None:
    for (path, method), operation_id in OPERATIONS.items():
        operation = spec["paths"][path][method]
        assert operation["operationId"] == operation_id
        assert operation["summary"]
        assert len(operation["description"]) > 100
        assert operation["security"] == [{"ApiKey": []}]


def test_the_examples_validate_against_the_schemas(spec: dict[str, Any]) -> None:
    examples = examples_from_spec(spec)
    checked = set()
    for (path, method), operation_id in OPERATIONS.items():
        operation = spec["paths"][path][method]
        documents = {f"{operation_id}.response.200.json": operation["responses"]["200"]}
        if "requestBody" in operation:
            documents[f"{operation_id}.request.json"] = operation["requestBody"]
        for name, holder in documents.items():
            schema = holder["content"]["application/json"]["schema"]
            jsonschema.validate(examples[name], {**schema, "components": spec["components"]})
            checked.add(name)
    assert checked == {name for name in examples if name.split(".")[0] in OPERATIONS.values()}
    assert len(checked) == 4
