"""The spec says everything a client needs: ETags, problem types, statuses, shared headers.

Walks the served spec; tests/test_schemathesis.py checks the same promises against the
answers the service really gives (headers it sets are documented, problem types listed).
"""

import ast
import json
import re
from typing import Any

import jsonschema
import pytest

from app.core import problem_types
from app.core.errors import _STATUS_SLUGS, TITLES, DomainError
from tests.conftest import REPO


@pytest.fixture(scope="module")
def spec(app: Any) -> dict[str, Any]:
    return app.openapi()


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def _parameters(spec: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    shared = spec["components"].get("parameters", {})
    return [
        shared[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
        for p in operation.get("parameters", [])
    ]


def _header_names(response: dict[str, Any]) -> set[str]:
    return {name.lower() for name in response.get("headers", {})}


def test_every_operation_taking_if_match_documents_the_etag_it_answers_with(
    spec: dict[str, Any],
) -> None:
    checked = 0
    for path, method, operation in _operations(spec):
        names = {p["name"] for p in _parameters(spec, operation)}
        if "If-Match" not in names:
            continue
        checked += 1
        where = f"{method.upper()} {path}"
        if method != "delete":
            # 202: a change request was filed instead; the resource did not change.
            for status, response in operation["responses"].items():
                if status.startswith("2") and status != "202":
                    assert "etag" in _header_names(response), f"{where} {status}: no ETag"
        read = spec["paths"][path].get("get")
        if read is not None:
            assert "etag" in _header_names(read["responses"]["200"]), f"GET {path}: no ETag"
    assert checked >= 14


def test_the_etag_header_is_documented_once_and_referenced(spec: dict[str, Any]) -> None:
    etag = spec["components"]["headers"]["ETag"]
    assert etag["schema"]["type"] == "string"
    for path, method, operation in _operations(spec):
        for status, response in operation["responses"].items():
            for name, header in response.get("headers", {}).items():
                assert header == {"$ref": f"#/components/headers/{name}"}, (path, method, status)
                assert name in spec["components"]["headers"]


def test_every_path_with_a_parameter_documents_404(spec: dict[str, Any]) -> None:
    for path, method, operation in _operations(spec):
        if "{" in path:
            assert "404" in operation["responses"], f"{method.upper()} {path}"


def test_422_is_documented_exactly_where_there_is_input(spec: dict[str, Any]) -> None:
    for path, method, operation in _operations(spec):
        takes_input = bool(operation.get("parameters")) or "requestBody" in operation
        assert ("422" in operation["responses"]) == takes_input, f"{method.upper()} {path}"
    assert "422" not in spec["paths"]["/health/live"]["get"]["responses"]


def test_x_actor_is_one_shared_header_parameter(spec: dict[str, Any]) -> None:
    shared = spec["components"]["parameters"]["XActor"]
    assert shared["name"] == "X-Actor"
    assert shared["in"] == "header"
    referenced = 0
    for path, method, operation in _operations(spec):
        for parameter in operation.get("parameters", []):
            assert parameter.get("name") != "X-Actor", f"{method.upper()} {path}: inline X-Actor"
            referenced += parameter == {"$ref": "#/components/parameters/XActor"}
    assert referenced > 80


def _domain_errors() -> list[type[DomainError]]:
    found: list[type[DomainError]] = []
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_problem_type_the_code_can_produce_is_listed_with_its_status(
    spec: dict[str, Any],
) -> None:
    # `spec` builds the app, so every domain package (and its errors) is imported.
    listed = {p.slug: p.status for p in problem_types.PROBLEM_TYPES}
    assert set(listed) == set(TITLES)
    for status, slug in _STATUS_SLUGS.items():
        assert listed[slug] == status, slug
    errors = _domain_errors()
    assert len(errors) > 40
    for cls in errors:
        slug = cls.slug or _STATUS_SLUGS[cls.status]
        assert listed.get(slug) == cls.status, f"{cls.__qualname__}: {slug} {cls.status}"
    # problem_response(..., slug="…") written anywhere in app/ names a listed type too.
    for path in (REPO / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            named = isinstance(node, ast.keyword) and node.arg == "slug"
            if named and isinstance(node.value, ast.Constant):
                assert node.value.value in listed, f"{path}: {node.value.value}"


def test_the_spec_lists_every_problem_type_with_status_meaning_and_a_valid_example(
    spec: dict[str, Any],
) -> None:
    examples = spec["components"]["examples"]
    problem_schema = {**spec["components"]["schemas"]["Problem"], "components": spec["components"]}
    description = spec["info"]["description"]
    for problem in problem_types.PROBLEM_TYPES:
        example = examples[f"problem-{problem.slug}"]
        assert example["summary"] == f"{problem.status} {problem.uri}"
        assert example["description"] == problem.meaning
        assert example["value"]["type"] == problem.uri
        assert example["value"]["status"] == problem.status
        jsonschema.validate(example["value"], problem_schema)
        assert f"| `{problem.uri}` | {problem.status} |" in description


def test_every_documented_error_response_has_the_example_of_its_status(
    spec: dict[str, Any],
) -> None:
    examples = spec["components"]["examples"]
    for path, method, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if not status.startswith("4"):
                continue
            media = response["content"]["application/problem+json"]
            [(name, ref)] = media["examples"].items()
            assert ref == {"$ref": f"#/components/examples/{name}"}
            assert examples[name]["value"]["status"] == int(status), (path, method, status)
    webhook = spec["paths"]["/api/v1/webhooks/{tenant_slug}/events"]["post"]
    assert "problem-invalid-signature" in json.dumps(webhook["responses"]["401"])


def test_every_success_answer_has_an_example_and_files_are_binary(spec: dict[str, Any]) -> None:
    files = 0
    for path, method, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if not status.startswith("2") or status == "204":
                continue
            for media_type, media in response.get("content", {}).items():
                where = f"{method.upper()} {path} {status} {media_type}"
                if "json" in media_type:
                    assert "example" in media, f"{where}: no example"
                else:
                    assert media["schema"] == {"type": "string", "format": "binary"}, where
                    assert "content-disposition" in _header_names(response), where
                    files += 1
    template = spec["paths"]["/api/v1/imports/templates/{entity}"]["get"]["responses"]["200"]
    assert (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" in (template["content"])
    )
    report = spec["paths"]["/api/v1/runs/{run_id}/report"]["get"]["responses"]
    assert {"text/csv", "application/pdf"} <= set(report["200"]["content"])
    assert "location" in _header_names(report["202"])
    assert files >= 7


# Path parameters no answer gives: the signed webhook's tenant, and enums of the spec.
UNLINKED = {("receiveWebhookEvent", "tenant_slug"), ("getImportTemplate", "entity")}
UNLINKED |= {("installTemplate", "key")}


def test_links_lead_from_creating_answers_to_every_id_a_path_takes(spec: dict[str, Any]) -> None:
    by_id = {op["operationId"]: (path, op) for path, _m, op in _operations(spec)}
    given: set[tuple[str, str]] = set()
    for path, method, operation in _operations(spec):
        for status, response in operation["responses"].items():
            for name, link in response.get("links", {}).items():
                where = f"{method.upper()} {path} {status} → {name}"
                _, target = by_id[link["operationId"]]
                target_names = {p["name"] for p in _parameters(spec, target)}
                assert set(link.get("parameters", {})) <= target_names, where
                given |= {(link["operationId"], p) for p in link.get("parameters", {})}
        # The inbound secret is the one created thing that no path names.
        creates = method == "post" and "201" in operation["responses"]
        if creates and operation["operationId"] != "rotateInboundWebhookSecret":
            assert operation["responses"]["201"].get("links"), f"POST {path}: no links"
    for path, _method, operation in _operations(spec):
        for name in re.findall(r"{(\w+)}", path):
            key = (operation["operationId"], name)
            assert key in given or key in UNLINKED, f"{path}: no link gives {name}"
    customer = spec["paths"]["/api/v1/customers"]["post"]["responses"]["201"]["links"]
    assert {"mergeCustomers", "getCustomerMetrics", "setAssignment"} <= set(customer)
    run = spec["paths"]["/api/v1/runs"]["post"]["responses"]["202"]["links"]
    assert {"getRun", "listRunResults", "cancelRun", "getRunReport"} <= set(run)
