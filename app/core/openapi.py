"""OpenAPI documentation of operations, and the example files frontends build from.

`documented(...)` gives a route its hand-written operation id, summary, examples and the
problem responses it can produce. Examples are written once, here in the code; the files
in `openapi-examples/` are generated from the live spec (`crm-classifier
openapi-examples`) and a test keeps both equal and valid against the schema.
"""

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, TypeAdapter, WithJsonSchema

from app.core import problem_types
from app.core.bulk import ITEM_MODELS
from app.core.errors import PROBLEM_MEDIA_TYPE, Problem
from app.core.openapi_links import add_links

_ERROR_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing or invalid API key",
    403: "The key's role does not allow this",
    404: "Not found (or another tenant's)",
    409: "Conflicts with the current state",
    412: "If-Match does not match the current ETag",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid input; `errors` lists each problem",
}

# Response headers, documented once in `components/headers` and referenced by the
# responses that carry them.
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": 'The resource\'s current version (a strong ETag such as `"3"`). '
        "Send it back as `If-Match` on the next change to get 412 instead of overwriting "
        "someone else's edit.",
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    },
    "Location": {
        "description": "Where to poll the work that was started.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this answer is the stored response of an earlier "
        "request with the same `Idempotency-Key` (nothing was done again).",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Content-Disposition": {
        "description": "`attachment` with the file name (RFC 6266: an ASCII fallback and "
        "the UTF-8 name in `filename*`).",
        "schema": {"type": "string"},
    },
}


def header_refs(*names: str) -> dict[str, dict[str, str]]:
    """The `headers` of a response that carries these documented response headers."""
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


# Examples as written, by operation id. FastAPI drops `null` members when it renders the
# spec, which would make examples with nullable fields invalid; `install_openapi` puts
# them back exactly as written.
_EXAMPLES: dict[str, dict[str, Any]] = {}
# Models of bodies that routes read themselves (to check a signature over the bytes
# first) or of JSON a service reads and writes itself (the Rules JSON), and security
# schemes other than the API key; all put into the spec here.
_RAW_BODY_MODELS: list[type[BaseModel]] = []
_COMPONENT_TYPES: list[Any] = []
_SECURITY_SCHEMES: dict[str, dict[str, Any]] = {}
_COMPONENT_MARKER = "x-crmc-component"


def documented(
    operation_id: str,
    summary: str,
    *,
    example: Any = None,
    status_code: int = 200,
    request_example: Any = None,
    errors: Iterable[int] = (),
    authenticated: bool = True,
    responses: dict[int | str, dict[str, Any]] | None = None,
    etag: bool = False,
    headers: Iterable[str] = (),
) -> dict[str, Any]:
    """Keyword arguments for a route decorator: ids, summary, examples, problem responses.

    `etag`: the `status_code` answer carries the resource's `ETag` header; `headers`:
    other documented response headers it carries (`RESPONSE_HEADERS`)."""
    responses = dict(responses or {})
    if example is not None:
        responses[status_code] = {"content": {"application/json": {"example": example}}}
    carried = [*(["ETag"] if etag else []), *headers]
    if carried:
        responses.setdefault(status_code, {})["headers"] = header_refs(*carried)
    statuses = set(errors) | {422}
    if authenticated:
        statuses |= {401, 403}
    if request_example is not None:
        statuses |= {413, 415}
    for status in sorted(statuses):
        responses[status] = {"model": Problem, "description": _ERROR_DESCRIPTIONS[status]}
    _EXAMPLES[operation_id] = {
        "request": request_example,
        "responses": {
            str(status): media["example"]
            for status, response in responses.items()
            if "example" in (media := response.get("content", {}).get("application/json", {}))
        },
    }
    kwargs: dict[str, Any] = {
        "operation_id": operation_id,
        "summary": summary,
        "status_code": status_code,
        "responses": responses,
    }
    if request_example is not None:
        kwargs["openapi_extra"] = {
            "requestBody": {"content": {"application/json": {"example": request_example}}}
        }
    return kwargs


def raw_json_body(model: type[BaseModel], example: Any) -> dict[str, Any]:
    """The `requestBody` of a route that reads its JSON body itself (FastAPI then knows
    of none): `model`'s schema, which the spec gets as a component, and the example."""
    _RAW_BODY_MODELS.append(model)
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{model.__name__}"},
                "example": example,
            }
        },
    }


def component_schema(documented: Any, name: str | None = None) -> WithJsonSchema:
    """The schema of a field whose JSON the service reads (or writes) itself, e.g. the
    Rules JSON, which the rule language checks with every problem at its path: a
    reference to the component of `documented` (a model or a named type alias), or to
    `name`, one of the schemas it refers to; the spec gets them. The field is validated
    as its own type says."""
    if documented not in _COMPONENT_TYPES:
        _COMPONENT_TYPES.append(documented)
    # A marker replaced by the reference once the spec is built: pydantic looks up every
    # `$ref` it meets among the schemas it generated itself, which these are not.
    return WithJsonSchema({_COMPONENT_MARKER: name or documented.__name__})


def security_scheme(name: str, scheme: dict[str, Any]) -> list[dict[str, list[str]]]:
    """Declare a security scheme besides the API key; the `security` of an operation
    that uses it."""
    _SECURITY_SCHEMES[name] = scheme
    return [{name: []}]


def install_openapi(app: FastAPI) -> None:
    """Serve a spec whose error responses are typed `application/problem+json`."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        _add_component_schemas(spec)
        _put_component_references(spec)
        _name_pages(spec)
        components = spec.setdefault("components", {})
        components.setdefault("securitySchemes", {}).update(_SECURITY_SCHEMES)
        components["headers"] = RESPONSE_HEADERS
        components["examples"] = problem_types.components_examples()
        spec["info"]["description"] += (
            "\n\n## Problem types · 错误类型\n\nEvery error is `application/problem+json` "
            "with one of these `type` URIs; each documented error response has an example "
            "(`components/examples`).\n\n" + problem_types.description_table() + "\n"
        )
        for path_item in spec.get("paths", {}).values():
            for operation in path_item.values():
                _restore_examples(operation)
                _document_statuses(operation)
                _share_actor_parameter(operation, components)
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    schema = content.get("application/json", {}).get("schema", {})
                    if status[:1] in "45" and schema.get("$ref", "").endswith("/Problem"):
                        content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
                        content[PROBLEM_MEDIA_TYPE]["examples"] = _problem_example(
                            operation, int(status)
                        )
        add_links(spec)
        app.openapi_schema = spec
        return spec

    # FastAPI's way to customise the spec is replacing the app's `openapi` method.
    app.openapi = build  # type: ignore[method-assign]


def _document_statuses(operation: dict[str, Any]) -> None:
    """404 wherever a path parameter names something (or, holding a `/`, no route);
    no 422 where there is no input to be invalid."""
    responses = operation["responses"]
    parameters = operation.get("parameters", [])
    if any(p.get("in") == "path" for p in parameters) and "404" not in responses:
        responses["404"] = {
            "description": _ERROR_DESCRIPTIONS[404],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    if not parameters and "requestBody" not in operation:
        responses.pop("422", None)
    operation["responses"] = dict(sorted(responses.items()))


_ACTOR = "X-Actor"


def _share_actor_parameter(operation: dict[str, Any], components: dict[str, Any]) -> None:
    """`X-Actor`, which every authenticated operation takes, as one reusable parameter."""
    parameters = operation.get("parameters", [])
    for index, parameter in enumerate(parameters):
        if parameter.get("in") == "header" and parameter.get("name") == _ACTOR:
            shared = components.setdefault("parameters", {})
            shared.setdefault(
                "XActor",
                {
                    "name": _ACTOR,
                    "in": "header",
                    "required": False,
                    "description": parameter["description"],
                    "schema": _not_null(parameter["schema"]),
                },
            )
            parameters[index] = {"$ref": "#/components/parameters/XActor"}


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional header's schema without FastAPI's `null` branch (a header is absent, never
    null), and without the title and description the parameter carries."""
    branches = [b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"]
    (branch,) = branches
    return {k: v for k, v in branch.items() if k not in ("title", "description")}


def _problem_example(operation: dict[str, Any], status: int) -> dict[str, Any]:
    """The example of a problem response: the type this operation answers `status` with."""
    problem = problem_types.BY_STATUS[status]
    if status == 401 and {"StandardWebhooks": []} in operation.get("security", []):
        problem = problem_types.BY_SLUG["invalid-signature"]
    name = problem_types.example_name(problem)
    return {name: {"$ref": f"#/components/examples/{name}"}}


def _add_component_schemas(spec: dict[str, Any]) -> None:
    # Bulk bodies reference their item model by name, bodies read by their route their
    # model, and fields documented by `component_schema` theirs; nothing else would put
    # them in the spec.
    documented = [*ITEM_MODELS, *_RAW_BODY_MODELS, *_COMPONENT_TYPES]
    _, top = TypeAdapter.json_schemas(
        [(kind, "validation", TypeAdapter(kind)) for kind in documented],
        ref_template="#/components/schemas/{model}",
    )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in top.get("$defs", {}).items():
        schemas.setdefault(name, schema)


_PAGE_NAME = re.compile(r"Page_(\w+?)(?:Out)?_")


def _name_pages(spec: dict[str, Any]) -> None:
    """Name pages as clients read them: `CustomerPage`, not pydantic's `Page_CustomerOut_`
    (generic models get their name from their type arguments)."""
    schemas = spec.get("components", {}).get("schemas", {})
    names = {}
    for name in list(schemas):
        match = _PAGE_NAME.fullmatch(name)
        if match:
            names[name] = f"{match[1]}Page"
    if not names:
        return
    spec["components"]["schemas"] = {
        names.get(name, name): {**schema, "title": names[name]} if name in names else schema
        for name, schema in schemas.items()
    }
    refs = {
        f"#/components/schemas/{old}": f"#/components/schemas/{new}" for old, new in names.items()
    }
    _replace_refs(spec, refs)


def _replace_refs(node: Any, refs: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in refs:
            node["$ref"] = refs[ref]
        for value in node.values():
            _replace_refs(value, refs)
    elif isinstance(node, list):
        for value in node:
            _replace_refs(value, refs)


def _put_component_references(node: Any) -> None:
    """Replace the markers left by `component_schema` by references (in place)."""
    if isinstance(node, dict):
        name = node.pop(_COMPONENT_MARKER, None)
        if name is not None:
            node.pop("title", None)  # the component has its own
            node["$ref"] = f"#/components/schemas/{name}"
        for value in node.values():
            _put_component_references(value)
    elif isinstance(node, list):
        for value in node:
            _put_component_references(value)


def _restore_examples(operation: dict[str, Any]) -> None:
    written = _EXAMPLES.get(operation.get("operationId", ""))
    if written is None:
        return
    if written["request"] is not None:
        operation["requestBody"]["content"]["application/json"]["example"] = written["request"]
    for status, example in written["responses"].items():
        operation["responses"][status]["content"]["application/json"]["example"] = example


def examples_from_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Every example in the spec, keyed by the file name it lives under."""
    found: dict[str, Any] = {}
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            op_id = operation.get("operationId")
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                if "example" in media:
                    found[f"{op_id}.request.json"] = media["example"]
            for status, response in operation.get("responses", {}).items():
                for media in response.get("content", {}).values():
                    if "example" in media:
                        found[f"{op_id}.response.{status}.json"] = media["example"]
    return found


def write_examples(spec: dict[str, Any], directory: Path) -> list[Path]:
    """(Re)write `openapi-examples/` from the spec; stale files are removed."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = examples_from_spec(spec)
    for stale in directory.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    written = []
    for name, example in sorted(wanted.items()):
        path = directory / name
        path.write_text(json.dumps(example, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
