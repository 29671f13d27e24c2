"""Writing activity in bulk: one set-based upsert per batch, idempotent by external_id."""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.activity.repository import ActivityTable, Written, write_rows
from app.activity.schemas import ActivityItem, ComplaintIn, InteractionIn, OrderIn
from app.audit.service import audit_row, record_events
from app.core.auth import Principal
from app.core.bulk import BulkResult, ItemError, finish, item_error, validate_items
from app.core.i18n import Text
from app.customers.repository import ids_by_code
from app.facts.today import tenant_zone


def local_instant(value: date | datetime, zone: ZoneInfo) -> tuple[datetime, date]:
    """The instant and the tenant-local day of a date or date-time sent by a client."""
    if isinstance(value, datetime):
        instant = value if value.tzinfo else value.replace(tzinfo=zone)
        return instant, instant.astimezone(zone).date()
    return datetime.combine(value, time.min, zone), value


@dataclass(frozen=True)
class ActivityKind:
    """One kind of activity: the bulk API's item model and the table it is written to."""

    name: str  # the audit events' entity type
    model: type[ActivityItem]
    table: ActivityTable

    def row(self, item: Any, zone: ZoneInfo) -> tuple[Any, ...]:
        """The staged row of a validated item (`ActivityTable.row_columns`)."""
        instant, day = local_instant(getattr(item, self.table.when), zone)
        own = attrgetter(*(name for name, _ in self.table.columns))(item)
        return (item.external_id, item.customer_code, instant, day, *own)


ORDERS = ActivityKind(
    "order",
    OrderIn,
    ActivityTable(
        "orders",
        "ordered_at",
        (("amount", "numeric(18,2)"), ("status", "text")),
    ),
)
INTERACTIONS = ActivityKind(
    "interaction",
    InteractionIn,
    ActivityTable(
        "interactions",
        "occurred_at",
        (
            ("channel", "text"),
            ("direction", "text"),
            ("replied", "bool"),
            ("is_inquiry", "bool"),
            ("summary", "text"),
        ),
    ),
)
COMPLAINTS = ActivityKind(
    "complaint",
    ComplaintIn,
    ActivityTable(
        "complaints",
        "occurred_at",
        (("severity", "text"), ("summary", "text")),
    ),
)


async def upsert_activity(
    session: AsyncSession, principal: Principal, kind: ActivityKind, items: list[dict[str, Any]]
) -> BulkResult:
    """Validate items one by one and write all good ones with one set-based upsert that
    also resolves their customer codes; an unknown code or a repeated external_id fails
    only its item."""
    good, errors = validate_items(items, kind.model)
    good = await _first_of_each_external_id(session, principal.tenant_id, good, errors)
    zone = tenant_zone(principal)
    rows = [kind.row(item, zone) for _, item in good]
    written = await write_activity(session, principal, kind, rows, refused=len(errors))
    for position in written.unknown:
        index, item = good[position]
        errors.append(_unknown_customer(index, item.customer_code))
    return finish(len(items), written.created, written.updated, errors)


async def write_activity(
    session: AsyncSession,
    principal: Principal,
    kind: ActivityKind,
    rows: list[tuple[Any, ...]],
    *,
    dry_run: bool = False,
    refused: int = 0,
) -> Written:
    """Upsert staged rows (external ids unique among them) and audit the batch; rows
    whose customer code is unknown come back by position. `refused` counts the items the
    caller already turned away, for the audit event. A dry run writes nothing."""
    written = await write_rows(session, principal.tenant_id, kind.table, rows, dry_run=dry_run)
    if not dry_run and (written.created or written.updated):
        # Written now, with a Core statement: each inbound webhook event comes this way,
        # and an ORM object flushed at commit costs it more than the row does.
        event = audit_row(
            principal,
            entity_type=kind.name,
            entity_id="bulk",
            action="bulk_upsert",
            after={
                "created": written.created,
                "updated": written.updated,
                "failed": refused + len(written.unknown),
            },
        )
        await record_events(session, [event])
    return written


async def _first_of_each_external_id(
    session: AsyncSession,
    tenant_id: Any,
    good: list[tuple[int, ActivityItem]],
    errors: list[ItemError],
) -> list[tuple[int, ActivityItem]]:
    """Items whose external_id repeats an earlier item's fail, unless that earlier item
    failed for its unknown customer code (then the first one with a known code is kept).
    Only repeated ids need their codes looked up here; the upsert resolves the rest."""
    counts = Counter(item.external_id for _, item in good)
    repeated = {external_id for external_id, count in counts.items() if count > 1}
    if not repeated:
        return good
    known = await ids_by_code(
        session, tenant_id, {item.customer_code for _, item in good if item.external_id in repeated}
    )
    kept, seen = [], set()
    for index, item in good:
        if item.external_id in repeated:
            if item.customer_code not in known:
                errors.append(_unknown_customer(index, item.customer_code))
                continue
            if item.external_id in seen:
                errors.append(item_error(index, "external_id", _REPEATED, "duplicate_external_id"))
                continue
            seen.add(item.external_id)
        kept.append((index, item))
    return kept


_REPEATED = Text("本次请求中 external_id 重复", "Duplicate external_id in this request")


def _unknown_customer(index: int, code: str) -> ItemError:
    message = Text(f"客户编号 {code} 不存在", f"No customer with code {code}")
    return item_error(index, "customer_code", message, "unknown_customer")
