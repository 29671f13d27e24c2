"""Queries for data quality: counts and examples over customers, duplicate groups, and
the set-based steps of a merge. Always within one tenant; never a loop over customers."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    FromClause,
    Subquery,
    Text,
    Uuid,
    any_,
    case,
    cast,
    delete,
    exists,
    func,
    inspect,
    literal,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, array_agg, distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import InvalidCursor, PageParams, decode_cursor, encode_cursor
from app.core.sql import rows_written, uuid_array
from app.models import (
    Base,
    Complaint,
    Customer,
    CustomerAlias,
    Industry,
    Interaction,
    Order,
    table_of,
)
from app.quality.checks import company_name_key, is_blank

CUSTOMERS = table_of(Customer)


# ---------------------------------------------------------------------------- report


def tenant_customers(tenant_id: uuid.UUID) -> Subquery:
    """All customers of a tenant, as a relation the checks run over."""
    return select(CUSTOMERS).where(CUSTOMERS.c.tenant_id == tenant_id).subquery("checked")


def sample_of_customers(tenant_id: uuid.UUID, seed: int, size: int) -> CTE:
    """The `size` customers with the smallest md5('<id>:<seed>'): the same seed and data
    give the same sample, and anyone can recompute which customers were drawn."""
    # Byte order ("C"), so the draw does not depend on the database's collation.
    draw = func.md5(func.concat(cast(CUSTOMERS.c.id, Text), ":", str(seed))).collate("C")
    return (
        select(CUSTOMERS)
        .where(CUSTOMERS.c.tenant_id == tenant_id)
        .order_by(draw, CUSTOMERS.c.id)
        .limit(size)
        # A CTE, so the draw (a sort of all the tenant's customers) is made once even
        # when the counts and each kind of example read the sample.
        .cte("checked")
    )


async def has_industry_list(session: AsyncSession, tenant_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(Industry.tenant_id == tenant_id))))


async def count_where(
    session: AsyncSession, rows: FromClause, conditions: Sequence[ColumnElement[bool]]
) -> tuple[int, list[int]]:
    """How many rows there are, and how many meet each condition — in one scan."""
    statement = select(
        func.count(), *(func.count().filter(condition) for condition in conditions)
    ).select_from(rows)
    total, *counts = (await session.execute(statement)).one()
    return total, counts


@dataclass(frozen=True, slots=True)
class Example:
    """A customer a check found: the value it shows (as text), and the size and head
    count a size check explains itself with."""

    id: uuid.UUID
    code: str
    value: str | None
    size: str | None
    employees: int | None


async def examples_where(
    session: AsyncSession,
    rows: FromClause,
    checks: Sequence[tuple[ColumnElement[bool], ColumnElement[Any] | None]],
    limit: int,
) -> list[list[Example]]:
    """For each (condition, shown value), the first `limit` rows meeting it by code.

    One round trip: a UNION ALL of one small LIMITed query per check.
    """
    if not checks:
        return []
    parts = [
        select(
            literal(index).label("check"),
            rows.c.id,
            rows.c.code,
            (cast(value, Text) if value is not None else literal(None, Text)).label("value"),
            rows.c.size,
            rows.c.employees,
        )
        .where(condition)
        .order_by(rows.c.code)
        .limit(limit)
        for index, (condition, value) in enumerate(checks)
    ]
    found: list[list[Example]] = [[] for _ in checks]
    for check, *example in await session.execute(union_all(*parts)):
        found[check].append(Example(*example))
    return found


def _no_activity(tenant_id: uuid.UUID) -> list[ColumnElement[bool]]:
    return [
        ~exists().where(model.tenant_id == tenant_id, model.customer_id == Customer.id)
        for model in (Order, Interaction, Complaint)
    ]


@dataclass(frozen=True, slots=True)
class NamedCustomer:
    id: uuid.UUID
    code: str
    name: str


async def customers_without_activity(
    session: AsyncSession, tenant_id: uuid.UUID, limit: int
) -> tuple[int, list[NamedCustomer]]:
    """How many customers have no order, interaction or complaint, and the first few.

    The window count is taken before LIMIT, so one anti-join query answers both.
    """
    statement = (
        select(Customer.id, Customer.code, Customer.name, func.count().over().label("total"))
        .where(Customer.tenant_id == tenant_id, *_no_activity(tenant_id))
        .order_by(Customer.code)
        .limit(limit)
    )
    rows = (await session.execute(statement)).all()
    total = rows[0][3] if rows else 0
    return total, [NamedCustomer(id_, code, name) for id_, code, name, _ in rows]


# ---------------------------------------------------------------------------- duplicates

MAX_GROUP_MEMBERS = 100


def _encode_cursor(reason: str, key: str) -> str:
    return encode_cursor([reason, key])


def _decode_cursor(cursor: str) -> tuple[str, str]:
    values = decode_cursor(cursor)
    if len(values) != 2 or values[0] not in ("uscc", "name") or not isinstance(values[1], str):
        raise InvalidCursor
    return values[0], values[1]


def _reason_rank(reason: Any) -> ColumnElement[int]:
    # Same USCC is the stronger evidence, so those groups come first.
    return case((reason == "uscc", 0), else_=1)


@dataclass(frozen=True, slots=True)
class DuplicateGroupRow:
    reason: str  # "uscc" or "name"
    key: str  # the shared USCC or normalised name
    customer_count: int
    ids: list[uuid.UUID]  # the first MAX_GROUP_MEMBERS members, oldest first


async def duplicate_groups(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageParams, reason: str | None
) -> tuple[list[DuplicateGroupRow], str | None]:
    """One page of groups of customers sharing a USCC or a normalised name.

    Groups are ordered by (reason, key) and the cursor is the last group's pair, so
    pages neither skip nor repeat groups while customers are added.
    """
    keyed = (
        select(
            CUSTOMERS.c.id,
            CUSTOMERS.c.created_at,
            CUSTOMERS.c.uscc,
            company_name_key(CUSTOMERS.c.name).label("name_key"),
        )
        .where(CUSTOMERS.c.tenant_id == tenant_id)
        .subquery("keyed")
    )
    members = array_agg(aggregate_order_by(keyed.c.id, keyed.c.created_at, keyed.c.id))
    groupings = []
    if reason in (None, "uscc"):
        groupings.append(("uscc", keyed.c.uscc, ~is_blank(keyed.c.uscc)))
    if reason in (None, "name"):
        groupings.append(("name", keyed.c.name_key, keyed.c.name_key != ""))
    groups = union_all(
        *(
            select(
                literal(name).label("reason"),
                key.label("key"),
                func.count().label("customer_count"),
                members[1:MAX_GROUP_MEMBERS].label("ids"),
            )
            .where(present)
            .group_by(key)
            .having(func.count() > 1)
            for name, key, present in groupings
        )
    ).subquery("groups")
    order = (_reason_rank(groups.c.reason), groups.c.key)
    statement = select(groups).order_by(*order).limit(page.limit + 1)
    if page.cursor:
        after_reason, after_key = _decode_cursor(page.cursor)
        statement = statement.where(
            tuple_(*order) > tuple_(_reason_rank(literal(after_reason)), literal(after_key))
        )
    rows = [DuplicateGroupRow(*row) for row in await session.execute(statement)]
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    return rows, _encode_cursor(rows[-1].reason, rows[-1].key)


# ---------------------------------------------------------------------------- merge


async def lock_customers(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[Customer]:
    """The tenant's customers among `ids`, locked FOR UPDATE in id order.

    Every merge locks in the same order, so two merges of overlapping sets queue up
    instead of deadlocking; the second one then sees the first one's result (a row
    deleted meanwhile is simply missing) and never works on stale data.
    """
    statement = (
        select(Customer)
        .where(Customer.tenant_id == tenant_id, Customer.id == any_(uuid_array(ids)))
        .order_by(Customer.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(statement)).all())


async def move_rows(
    session: AsyncSession,
    model: type[Base],
    tenant_id: uuid.UUID,
    survivor_id: uuid.UUID,
    duplicate_ids: Sequence[uuid.UUID],
    *,
    unless_survivor_has: tuple[str, ...] = (),
) -> int:
    """Re-point the duplicates' rows of `model` (by `customer_id`) at the survivor.

    For rows unique per customer and key (`unless_survivor_has`, e.g. one assignment per
    tree), the survivor's own row wins and, among the duplicates, the most recently
    updated row per key moves; rows that do not move go with their deleted customer.
    """
    table = table_of(model)
    statement = (
        update(table)
        .where(
            table.c.tenant_id == tenant_id, table.c.customer_id == any_(uuid_array(duplicate_ids))
        )
        .values(customer_id=survivor_id)
    )
    if unless_survivor_has:
        keys = [table.c[name] for name in unless_survivor_has]
        own = table.alias("own")
        statement = statement.where(
            ~exists().where(
                own.c.tenant_id == tenant_id,
                own.c.customer_id == survivor_id,
                *(own.c[name] == table.c[name] for name in unless_survivor_has),
            )
        )
        primary_key = [table.c[column.name] for column in inspect(model).primary_key]
        newest_first = [table.c.updated_at.desc()] if "updated_at" in table.c else []
        chosen = (
            select(*primary_key)
            .where(
                table.c.tenant_id == tenant_id,
                table.c.customer_id == any_(uuid_array(duplicate_ids)),
            )
            .ext(distinct_on(*keys))
            .order_by(*keys, *newest_first, *primary_key)
        )
        statement = statement.where(tuple_(*primary_key).in_(chosen))
    return await rows_written(session, statement, execution_options={"synchronize_session": False})


async def keep_codes_as_aliases(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    survivor_id: uuid.UUID,
    duplicate_ids: Sequence[uuid.UUID],
) -> None:
    """Codes that led to the duplicates (their own and their aliases) lead to the survivor.

    A duplicate's code that is also an alias of another customer now means the survivor:
    the customer that carried the code last wins.
    """
    aliases = table_of(CustomerAlias)
    await session.execute(
        update(aliases)
        .where(
            aliases.c.tenant_id == tenant_id,
            aliases.c.customer_id == any_(uuid_array(duplicate_ids)),
        )
        .values(customer_id=survivor_id)
    )
    codes = select(
        CUSTOMERS.c.tenant_id, CUSTOMERS.c.code, literal(survivor_id, Uuid).label("customer_id")
    ).where(CUSTOMERS.c.tenant_id == tenant_id, CUSTOMERS.c.id == any_(uuid_array(duplicate_ids)))
    statement = insert(aliases).from_select(["tenant_id", "code", "customer_id"], codes)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[aliases.c.tenant_id, aliases.c.code],
            set_={"customer_id": statement.excluded.customer_id},
        )
    )


async def delete_customers(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> None:
    await session.execute(
        delete(CUSTOMERS).where(
            CUSTOMERS.c.tenant_id == tenant_id, CUSTOMERS.c.id == any_(uuid_array(ids))
        )
    )


async def aliases_of(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID
) -> list[str]:
    statement = (
        select(CustomerAlias.code)
        .where(CustomerAlias.tenant_id == tenant_id, CustomerAlias.customer_id == customer_id)
        .order_by(CustomerAlias.code)
    )
    return list((await session.scalars(statement)).all())
