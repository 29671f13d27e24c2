"""Customers: create, update under If-Match, delete, and bulk upsert by code."""

import uuid
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import Boolean, func, literal_column
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import Audited, record_event
from app.core.auth import Principal
from app.core.bulk import BulkResult, finish, item_error, validate_items
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.etag import check_if_match
from app.core.i18n import Text
from app.core.pagination import PageParams
from app.customers import repository
from app.customers.schemas import (
    CustomerCreate,
    CustomerFields,
    CustomerFilter,
    CustomerMetrics,
    CustomerUpdate,
    Metrics,
)
from app.facts.conditions import customer_condition
from app.facts.metrics import METRIC_NAMES, metrics_query
from app.facts.today import tenant_today
from app.fields.custom import AttributeTypes, InvalidAttribute, attribute_types
from app.models import Customer

AUDIT_FIELDS = (
    "code",
    "name",
    "industry",
    "employees",
    "size",
    "annual_revenue",
    "region",
    "stage",
    "uscc",
    "contact_name",
    "contact_title",
    "cooperation_since",
    "tags",
    "attributes",
)
AUDITED = Audited("customer", AUDIT_FIELDS)
# Rows per INSERT: 15 columns x 1,000 rows stays far below PostgreSQL's 65,535 parameters.
CHUNK = 1000


class CustomerNotFound(NotFound):
    default_detail = Text("找不到该客户", "No such customer")


class CustomerCodeTaken(Conflict):
    default_detail = Text("客户编号已存在", "A customer with this code already exists")


def _values(fields: CustomerFields, types: AttributeTypes) -> dict[str, Any]:
    values = fields.model_dump(exclude_unset=True)
    if "attributes" in values:
        values["attributes"] = types.validate(values["attributes"] or {})
    if values.get("tags") is None and "tags" in values:
        values["tags"] = []
    return values


def _body_values(fields: CustomerFields, types: AttributeTypes) -> dict[str, Any]:
    """`_values` of a request body: a bad attribute is a 422 at its path."""
    try:
        return _values(fields, types)
    except InvalidAttribute as exc:
        raise InvalidInput(
            exc.text,
            errors=[{"loc": ["body", "attributes", exc.key], "msg": exc.text, "type": "attribute"}],
        ) from None


async def create_customer(
    session: AsyncSession, principal: Principal, body: CustomerCreate
) -> Customer:
    """A new customer; 409 if the code (or a merged code) is taken."""
    types = await attribute_types(session, principal.tenant_id)
    if await repository.customer_by_code(session, principal.tenant_id, body.code) is not None:
        raise CustomerCodeTaken
    customer = Customer(tenant_id=principal.tenant_id, **_body_values(body, types))
    await AUDITED.write(session, principal, customer, "create")
    return customer


async def list_customers(
    session: AsyncSession,
    principal: Principal,
    where: CustomerFilter,
    page: PageParams,
    when: str | None = None,
    as_of: date | None = None,
) -> tuple[list[Customer], str | None]:
    """A page of the tenant's customers matching `where` and, if given, the rule
    condition `when` as of `as_of` (422 at `query.when` when it is not valid)."""
    condition = None
    if when is not None:
        condition = await customer_condition(session, principal, when, as_of)
    return await repository.page_of_customers(session, principal.tenant_id, where, page, condition)


async def customers_matching(
    session: AsyncSession,
    principal: Principal,
    when: Any,
    as_of: date | None,
    *,
    loc: tuple[str, ...],
    limit: int,
) -> list[uuid.UUID]:
    """Ids of the customers matching a rule condition (text or JSON), in id order, at
    most `limit` (422 at `loc` when the condition is not valid)."""
    condition = await customer_condition(session, principal, when, as_of, loc)
    return await repository.ids_matching(session, principal.tenant_id, condition, limit)


async def get_customer_by_code(session: AsyncSession, principal: Principal, code: str) -> Customer:
    """The customer with this code, or the one a merged code now belongs to; else 404."""
    customer = await repository.customer_by_code(session, principal.tenant_id, code)
    if customer is None:
        raise CustomerNotFound
    return customer


async def get_customer(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID, *, for_update: bool = False
) -> Customer:
    """One customer of the caller's tenant, else 404."""
    customer = await repository.customer(
        session, principal.tenant_id, customer_id, for_update=for_update
    )
    if customer is None:
        raise CustomerNotFound
    return customer


async def update_customer(
    session: AsyncSession,
    principal: Principal,
    customer_id: uuid.UUID,
    changes: CustomerUpdate,
    if_match: str | None,
) -> Customer:
    """Apply changes under If-Match (412 when stale); audited."""
    customer = await get_customer(session, principal, customer_id, for_update=True)
    check_if_match(if_match, customer.version)
    types = await attribute_types(session, principal.tenant_id)
    values = _body_values(changes, types)
    new_code = values.get("code")
    if new_code not in (None, customer.code) and await repository.customer_by_code(
        session, principal.tenant_id, new_code
    ):
        raise CustomerCodeTaken
    if values.get("code") is None:
        values.pop("code", None)
    if values.get("name", "") is None:
        values.pop("name")
    if "stage" in values and values["stage"] is None:
        values["stage"] = "potential"
    await AUDITED.update(session, principal, customer, values)
    return customer


async def delete_customer(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID, if_match: str | None
) -> None:
    """Delete a customer and its activity (cascade); audited with its last state."""
    customer = await get_customer(session, principal, customer_id, for_update=True)
    check_if_match(if_match, customer.version)
    await AUDITED.delete(session, principal, customer)


async def bulk_upsert_customers(
    session: AsyncSession, principal: Principal, items: list[dict[str, Any]]
) -> BulkResult:
    """Create or update customers by code; per-item errors, good items kept.

    Items are grouped by the set of fields they carry so that an omitted field keeps the
    stored value while `null` clears it; each group is written with multi-row
    `INSERT … ON CONFLICT (tenant_id, code) DO UPDATE`, one statement per 1,000 rows.
    """
    good, errors = validate_items(items, CustomerCreate)
    types = await attribute_types(session, principal.tenant_id)
    seen: set[str] = set()
    groups: dict[frozenset[str], list[dict[str, Any]]] = defaultdict(list)
    for index, item in good:
        if item.code in seen:
            duplicate = Text("本次请求中客户编号重复", "Duplicate code in this request")
            errors.append(item_error(index, "code", duplicate, "duplicate_code"))
            continue
        seen.add(item.code)
        try:
            values = _values(item, types)
        except InvalidAttribute as exc:
            errors.append(item_error(index, "attributes", exc.text, "attribute"))
            continue
        groups[frozenset(values)].append(values)
    created = updated = 0
    for columns, rows in groups.items():
        for start in range(0, len(rows), CHUNK):
            chunk = [
                {**row, "tenant_id": principal.tenant_id} for row in rows[start : start + CHUNK]
            ]
            inserting = insert(Customer).values(chunk)
            changed = {c: inserting.excluded[c] for c in columns if c != "code"}
            upsert = inserting.on_conflict_do_update(
                index_elements=[Customer.tenant_id, Customer.code],
                set_={**changed, "version": Customer.version + 1, "updated_at": func.now()},
            ).returning(literal_column("xmax = 0", Boolean))
            inserted = (await session.scalars(upsert)).all()
            created += sum(1 for flag in inserted if flag)
            updated += sum(1 for flag in inserted if not flag)
    if created or updated:
        record_event(
            session,
            principal,
            entity_type="customer",
            entity_id="bulk",
            action="bulk_upsert",
            after={"created": created, "updated": updated, "failed": len(errors)},
        )
    return finish(len(items), created, updated, errors)


async def customer_metrics(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID, as_of: date | None
) -> CustomerMetrics:
    """One customer's metrics as of a date (default: today in the tenant's time zone)."""
    await get_customer(session, principal, customer_id)
    day = as_of or tenant_today(principal)
    statement, _ = metrics_query(principal.tenant_id, day, [customer_id])
    row = (await session.execute(statement)).mappings().one()
    metrics = Metrics.model_validate({name: row[name] for name in METRIC_NAMES})
    return CustomerMetrics(customer_id=customer_id, as_of=day, metrics=metrics)
