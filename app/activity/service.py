"""Writing activity in bulk: one set-based upsert per request, idempotent by external_id."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Numeric,
    String,
    Uuid,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy import (
    Text as SqlText,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from app.activity.schemas import ActivityItem, ComplaintIn, InteractionIn, OrderIn
from app.audit.service import record_event
from app.core.auth import Principal
from app.core.bulk import BulkResult, ItemError, finish, item_error, validate_items
from app.core.i18n import Text
from app.customers.repository import ids_by_code
from app.models import Complaint, Interaction, Order
from app.models.base import Base


def local_instant(value: date | datetime, zone: ZoneInfo) -> tuple[datetime, date]:
    """The instant and the tenant-local day of a date or date-time sent by a client."""
    if isinstance(value, datetime):
        instant = value if value.tzinfo else value.replace(tzinfo=zone)
        return instant, instant.astimezone(zone).date()
    return datetime.combine(value, time.min, zone), value


@dataclass(frozen=True)
class ActivityKind:
    """How one kind of activity maps from its item model to its table."""

    name: str
    model: type[ActivityItem]
    table: type[Base]
    when: str  # the item field holding the date or date-time
    columns: dict[str, TypeEngine[Any]]  # table column -> SQL type, besides the fixed ones
    row: Callable[[Any], dict[str, Any]]  # item -> values of `columns`


ORDERS = ActivityKind(
    "order", OrderIn, Order, "ordered_at",
    {"amount": Numeric(18, 2), "status": String()},
    lambda item: {"amount": item.amount, "status": item.status},
)  # fmt: skip
INTERACTIONS = ActivityKind(
    "interaction", InteractionIn, Interaction, "occurred_at",
    {"channel": String(), "direction": String(), "replied": Boolean(),
     "is_inquiry": Boolean(), "summary": SqlText()},
    lambda item: {"channel": item.channel, "direction": item.direction, "replied": item.replied,
                  "is_inquiry": item.is_inquiry, "summary": item.summary},
)  # fmt: skip
COMPLAINTS = ActivityKind(
    "complaint", ComplaintIn, Complaint, "occurred_at",
    {"severity": String(), "summary": SqlText()},
    lambda item: {"severity": item.severity, "summary": item.summary},
)  # fmt: skip


async def upsert_activity(
    session: AsyncSession, principal: Principal, kind: ActivityKind, items: list[dict[str, Any]]
) -> BulkResult:
    """Validate items one by one, resolve customer codes in one query, and write all good
    items with a single `INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE`."""
    good, errors = validate_items(items, kind.model)
    codes = await ids_by_code(
        session, principal.tenant_id, {item.customer_code for _, item in good}
    )
    zone = ZoneInfo(principal.tenant_time_zone)
    at_column = kind.when
    on_column = at_column.replace("_at", "_on")
    arrays: dict[str, list[Any]] = {
        name: [] for name in ("external_id", "customer_id", at_column, on_column, *kind.columns)
    }
    seen: set[str] = set()
    for index, item in good:
        problem = _problem(index, item, codes, seen)
        if problem is not None:
            errors.append(problem)
            continue
        seen.add(item.external_id)
        instant, day = local_instant(getattr(item, at_column), zone)
        for name, value in (
            ("external_id", item.external_id),
            ("customer_id", codes[item.customer_code]),
            (at_column, instant),
            (on_column, day),
            *kind.row(item).items(),
        ):
            arrays[name].append(value)
    created = updated = 0
    if arrays["external_id"]:
        created, updated = await _write(session, principal, kind, arrays, at_column, on_column)
        record_event(
            session, principal, entity_type=kind.name, entity_id="bulk", action="bulk_upsert",
            after={"created": created, "updated": updated, "failed": len(errors)},
        )  # fmt: skip
    return finish(len(items), created, updated, errors)


def _problem(
    index: int, item: ActivityItem, codes: dict[str, Any], seen: set[str]
) -> ItemError | None:
    if item.customer_code not in codes:
        message = Text(
            f"客户编号 {item.customer_code} 不存在", f"No customer with code {item.customer_code}"
        )
        return item_error(index, "customer_code", message, "unknown_customer")
    if item.external_id in seen:
        message = Text("本次请求中 external_id 重复", "Duplicate external_id in this request")
        return item_error(index, "external_id", message, "duplicate_external_id")
    return None


async def _write(
    session: AsyncSession,
    principal: Principal,
    kind: ActivityKind,
    arrays: dict[str, list[Any]],
    at_column: str,
    on_column: str,
) -> tuple[int, int]:
    types: dict[str, TypeEngine[Any]] = {
        "external_id": String(),
        "customer_id": Uuid(),
        at_column: DateTime(timezone=True),
        on_column: Date(),
        **kind.columns,
    }
    names = list(arrays)
    # Every value is a bound array parameter; unnest turns them back into rows.
    rows = (
        func.unnest(*(literal(arrays[n], ARRAY(types[n])) for n in names))
        .table_valued(*names)
        .render_derived(name="item")
    )
    # The id is generated per row here: the model's Python-side default would be evaluated
    # once for the whole INSERT … SELECT.
    source = select(func.gen_random_uuid(), literal(principal.tenant_id, Uuid()), *rows.c)
    statement = insert(kind.table).from_select(["id", "tenant_id", *names], source)
    statement = statement.on_conflict_do_update(
        index_elements=["tenant_id", "external_id"],
        set_={
            **{n: statement.excluded[n] for n in names if n != "external_id"},
            "updated_at": func.now(),
        },
    ).returning(literal_column("xmax = 0"))
    flags = (await session.scalars(statement)).all()
    created = sum(1 for flag in flags if flag)
    return created, len(flags) - created
