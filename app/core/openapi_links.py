"""OpenAPI links: from each operation that creates something to the operations taking its id.

A client (and Schemathesis's stateful phase) follows them: `POST /customers` answers 201
with the customer, whose `id` is the `customer_id` of getCustomer, mergeCustomers,
getCustomerMetrics, the assignment routes and so on. The table below says which answer
carries which path parameter; the targets are every operation whose path has that
parameter, found in the spec, so an operation added later is linked without editing this.
"""

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Produced:
    """`parameter` of later requests is at `pointer` in `operation_id`'s `status` answer."""

    operation_id: str
    status: str
    parameter: str
    pointer: str
    # Only operations under this path take it (`{key}` is also a template's key).
    within: str = "/api/v1/"


PRODUCED: tuple[Produced, ...] = (
    Produced("createApiKey", "201", "key_id", "/id"),
    Produced("createCustomer", "201", "customer_id", "/id"),
    Produced("createCustomer", "201", "code", "/code"),
    Produced("createCustomField", "201", "key", "/key", within="/api/v1/fields/custom/"),
    Produced("createCategoryTree", "201", "tree_id", "/id"),
    Produced("createCategory", "201", "category_id", "/id"),
    # A tree that requires approval files a change request instead (202).
    Produced("createCategory", "202", "request_id", "/id"),
    Produced("updateCategory", "202", "request_id", "/id"),
    Produced("moveCategory", "202", "request_id", "/id"),
    Produced("deleteCategory", "202", "request_id", "/id"),
    Produced("publishRulesetVersion", "202", "request_id", "/change_request_id"),
    Produced("createRuleset", "201", "ruleset_id", "/id"),
    Produced("createRulesetVersion", "201", "ruleset_id", "/ruleset_id"),
    Produced("createRulesetVersion", "201", "number", "/version"),
    Produced("installTemplate", "201", "tree_id", "/tree_id"),
    Produced("installTemplate", "201", "ruleset_id", "/ruleset_id"),
    Produced("installTemplate", "201", "number", "/published_version"),
    Produced("createRun", "202", "run_id", "/id"),
    Produced("getRunReport", "202", "export_id", "/id"),
    Produced("createImport", "202", "import_id", "/id"),
    Produced("createWebhookEndpoint", "201", "endpoint_id", "/id"),
    # Deliveries are made by events, not by a request: the newest of a listed endpoint's.
    Produced("listWebhookDeliveries", "200", "delivery_id", "/items/0/id"),
    Produced("createSchedule", "201", "schedule_id", "/id"),
)

# Ids a creating answer gives to the body of another creating request.
BODY_LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("createCategoryTree", "201"): {
        "createRuleset": {"tree_id": "/id"},
        "createRun": {"tree_ids": ["/id"]},
        "createSchedule": {"tree_ids": ["/id"]},
    },
}

_PATH_PARAMETER = re.compile(r"{(\w+)}")


def add_links(spec: dict[str, Any]) -> None:
    """Put the links of `PRODUCED` and `BODY_LINKS` on the answers they come from."""
    operations = {
        operation["operationId"]: (path, operation)
        for path, item in spec["paths"].items()
        for operation in item.values()
    }
    links: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for produced in PRODUCED:
        source_links = links.setdefault((produced.operation_id, produced.status), {})
        for target_id, (path, _) in operations.items():
            if produced.parameter in _PATH_PARAMETER.findall(path) and path.startswith(
                produced.within
            ):
                link = source_links.setdefault(
                    target_id, {"operationId": target_id, "parameters": {}}
                )
                link["parameters"][produced.parameter] = f"$response.body#{produced.pointer}"
    for source, targets in BODY_LINKS.items():
        source_links = links.setdefault(source, {})
        for target_id, fields in targets.items():
            source_links[target_id] = {
                "operationId": target_id,
                "requestBody": {name: _expression(value) for name, value in fields.items()},
            }
    for (operation_id, status), source_links in links.items():
        _, operation = operations[operation_id]
        for link in source_links.values():
            link["description"] = _describe(link)
        operation["responses"][status]["links"] = dict(sorted(source_links.items()))


def _expression(pointer: str | list[str]) -> str | list[str]:
    """`$response.body#<pointer>` for a pointer, or a list of them for a list field."""
    if isinstance(pointer, list):
        return [f"$response.body#{p}" for p in pointer]
    return f"$response.body#{pointer}"


def _describe(link: dict[str, Any]) -> str:
    if "requestBody" in link:
        fields = ", ".join(f"`{name}`" for name in link["requestBody"])
        return f"The body's {fields} from this answer"
    parameters = ", ".join(f"`{name}`" for name in link["parameters"])
    return f"The path's {parameters} from this answer"
