"""Schemathesis over every operation, in-process through the ASGI app, authenticated.

Checks: no server errors, responses match their documented schemas and headers, the
headers the service sets are documented, every problem `type` is one the spec lists,
and invalid input (negative data) is rejected: with a 4xx, or — by the bulk endpoints,
which keep the good items of a request and report the bad ones — with the bad item
counted in `failed`.

Two phases: every operation alone, and stateful sequences that follow the spec's OpenAPI
links (create a customer, then read, merge, classify it …), which reach the routes that
take an id — alone they would only ever get 404s. Bounded: a fixed number of examples
per operation and of sequences, derandomised so CI failures reproduce.
"""

import asyncio
import os
import re
from collections import Counter
from typing import Any, ClassVar

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
)

from app.core import problem_types
from app.core.db import Database
from app.core.settings import Settings
from app.main import create_app
from app.models import Role
from app.tenants import service as tenant_service

# Bulk endpoints answer 200 with per-item errors when some items are good (app/core/bulk.py):
# a mutated item is rejected by being reported, not by a 4xx for the whole request.
PER_ITEM_BULK = {
    "upsertCustomers",
    "upsertOrders",
    "upsertInteractions",
    "upsertComplaints",
    "bulkAssign",
}
MAX_EXAMPLES = int(os.environ.get("CRMC_SCHEMATHESIS_EXAMPLES", "25"))
# Stateful: this many sequences of at most STATEFUL_STEPS calls each.
STATEFUL_SEQUENCES = int(os.environ.get("CRMC_SCHEMATHESIS_SEQUENCES", "40"))
STATEFUL_STEPS = 12


async def _admin_key(url: str) -> str:
    database = Database.connect(url, pooled=False)
    try:
        async with database.sessionmaker() as session, session.begin():
            tenant = await tenant_service.create_tenant(
                session, "fuzz-" + os.urandom(4).hex(), "模糊测试"
            )
            _, secret = await tenant_service.create_api_key(
                session, tenant.id, name="fuzz", role=Role.ADMIN, delegating=True, created_by="t"
            )
            return secret
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
def admin_key(database_url: str) -> str:
    return asyncio.run(_admin_key(database_url))


# The app is built at import (Schemathesis reads the spec then); its database is set by the
# fixture below once the test database exists. Schemathesis drives the app from its own
# thread and event loop, so the database is unpooled: each request opens its connection
# on the loop serving it.
APP = create_app(
    Settings(database_url="postgresql+asyncpg://unset/unset"),
    Database.connect("postgresql+asyncpg://unset/unset", pooled=False),  # replaced below
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
    # Our key goes in every request; generated Authorization values would only get 401s.
    with_security_parameters=False,
)


# The stateful phase follows the links the spec declares, and only those: Schemathesis's
# own guesses (dependency inference) would hide a link the spec is missing.
schema.config.phases.stateful.inference.algorithms = []


@pytest.fixture(scope="module", autouse=True)
def _app_database(database_url: str) -> Any:
    APP.state.database = Database.connect(database_url, pooled=False)
    yield
    asyncio.run(APP.state.database.dispose())


def invalid_data_rejected(ctx: Any, response: Any, case: Any) -> bool | None:
    """`negative_data_rejection`, except that a bulk endpoint may reject the invalid item
    alone: a 200 whose `failed` counts it. A 200 that reports nothing failed still fails."""
    if (
        case.operation.definition.raw.get("operationId") in PER_ITEM_BULK
        and response.status_code == 200
        and response.json().get("failed", 0) >= 1
    ):
        return None
    return negative_data_rejection(ctx, response, case)


# Headers the service sets on some answers; each must be documented on that answer.
SET_HEADERS = ("etag", "location", "idempotent-replayed", "content-disposition")


def set_headers_are_documented(ctx: Any, response: Any, case: Any) -> bool | None:
    """A header the service set (ETag, Location …) is documented on the answer's status."""
    definition = case.operation.responses.find_by_status_code(response.status_code)
    headers = definition.headers.items() if definition else []
    documented = {name.lower() for name, _ in headers}
    undocumented = [h for h in SET_HEADERS if h in response.headers and h not in documented]
    assert not undocumented, (
        f"{case.operation.label} {response.status_code} sets undocumented {undocumented}"
    )
    return None


def problem_types_are_listed(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every problem's `type` is one the spec lists, with the status it is listed with."""
    if not response.headers.get("content-type", [""])[0].startswith("application/problem+json"):
        return None
    body = response.json()
    listed = {p.uri: p for p in problem_types.PROBLEM_TYPES}
    assert body["type"] in listed, f"{case.operation.label}: unlisted problem {body['type']}"
    assert listed[body["type"]].status == body["status"] == response.status_code, body
    return None


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    response_headers_conformance,
    set_headers_are_documented,
    problem_types_are_listed,
    invalid_data_rejected,
]
# No read timeout (Schemathesis's default is 10 s): tests assert no durations, and a
# loaded CI machine once took longer than that over a 1.6 MB generated bulk body.
NO_TIMEOUT: dict[str, Any] = {"timeout": None}


@schema.parametrize()
def test_every_operation_survives_generated_input(case: Any, admin_key: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_key}"}, checks=CHECKS, **NO_TIMEOUT
    )


class LinkedCalls(schema.as_state_machine()):  # type: ignore[misc]
    """Sequences of calls along the spec's links, each as the admin of a tenant of its own.

    A fresh tenant per sequence makes its answers depend on the sequence alone, as
    Hypothesis requires (it replays sequences and must see the same answers again)."""

    database_url: ClassVar[str] = ""
    # Operations taking an id in their path, by how often they answered 2xx.
    id_routes_answered: ClassVar[Counter[str]] = Counter()

    def setup(self) -> None:
        self.key = asyncio.run(_admin_key(self.database_url))

    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": {"Authorization": f"Bearer {self.key}"}, **NO_TIMEOUT}

    def after_call(self, response: Any, case: Any) -> None:
        if 200 <= response.status_code < 300 and re.search(r"{\w+}", case.operation.path):
            self.id_routes_answered[case.operation.label] += 1

    def validate_response(
        self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
    ) -> None:
        case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)


def test_linked_calls_reach_the_routes_that_take_an_id(database_url: str) -> None:
    LinkedCalls.database_url = database_url
    LinkedCalls.id_routes_answered.clear()
    LinkedCalls.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_SEQUENCES,
            stateful_step_count=STATEFUL_STEPS,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    reached = sorted(LinkedCalls.id_routes_answered)
    # Followed links give real ids: routes of several kinds of resource answer 2xx (alone,
    # generated ids only ever get 404).
    assert len(reached) >= 6, reached
    kinds = {label.split("/")[3] for label in reached}
    assert len(kinds) >= 3, reached
