"""Merging duplicate customers into one (剔除重复数据), in one transaction.

The survivor keeps its id and code and gains everything of the duplicates: their
activity, their codes (as aliases, so imports and webhooks that still send an old code
find the survivor), and any profile values it lacked. The duplicates are then deleted.
Every step is one set-based statement; the rows involved are locked first.

How profile fields are combined (documented in the endpoint too):
- the survivor's non-empty values win; an empty one (null or blank) takes the first
  non-empty value among the duplicates, in the order they were listed in the request;
- `employees` and `size` travel together, so they never contradict each other: only a
  survivor with neither takes both from the first duplicate with either;
- `tags` are the union (survivor's first); `attributes` are merged key by key with the
  same precedence as fields;
- `stage` becomes `signed` when any of the customers was signed.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.errors import InvalidInput
from app.core.etag import check_if_match
from app.core.i18n import Text
from app.customers.service import AUDITED, CustomerNotFound
from app.models import Assignment, AssignmentHistory, Complaint, Customer, Interaction, Order
from app.quality import repository


@dataclass(frozen=True)
class MovedWithCustomer:
    """A table whose rows belong to a customer (`customer_id`) and follow it on a merge."""

    model: type[Any]
    # For rows unique per customer and these columns: the survivor's own row wins.
    unless_survivor_has: tuple[str, ...] = ()


MOVED_WITH_THE_CUSTOMER: tuple[MovedWithCustomer, ...] = (
    MovedWithCustomer(Order),
    MovedWithCustomer(Interaction),
    MovedWithCustomer(Complaint),
    # A duplicate's category moves only in trees where the survivor has none (the newest
    # one per tree, so a single-assign tree still holds one category per customer), and
    # its classification history follows it.
    MovedWithCustomer(Assignment, unless_survivor_has=("tree_id",)),
    MovedWithCustomer(AssignmentHistory),
)

# Profile fields a survivor takes from a duplicate when its own is empty.
FILLED_FROM_DUPLICATES = (
    "industry",
    "annual_revenue",
    "region",
    "uscc",
    "contact_name",
    "contact_title",
    "cooperation_since",
)


_SURVIVOR_LISTED = Text(
    "保留的客户不能同时出现在被合并的客户中",
    "The customer merged into cannot also be one of the duplicates",
)


class SurvivorAmongDuplicates(InvalidInput):
    default_detail = _SURVIVOR_LISTED


@dataclass
class Merged:
    """The outcome of a merge: the survivor as it is now, and what was moved."""

    survivor: Customer
    aliases: list[str]
    merged_ids: list[uuid.UUID]
    moved: dict[str, int] = field(default_factory=dict)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def fill_profile(survivor: Customer, duplicates: list[Customer]) -> None:
    """Combine profile fields into the survivor by the rules in the module docstring."""
    for name in FILLED_FROM_DUPLICATES:
        if _empty(getattr(survivor, name)):
            donor = next((d for d in duplicates if not _empty(getattr(d, name))), None)
            if donor is not None:
                setattr(survivor, name, getattr(donor, name))
    if survivor.employees is None and survivor.size is None:
        donor = next((d for d in duplicates if d.employees is not None or d.size), None)
        if donor is not None:
            survivor.employees, survivor.size = donor.employees, donor.size
    if any(d.stage == "signed" for d in duplicates):
        survivor.stage = "signed"
    # New containers, so the duplicates' snapshots and the ORM's change tracking stay true.
    survivor.tags = list(
        dict.fromkeys([*(survivor.tags or []), *(t for d in duplicates for t in d.tags or [])])
    )
    attributes: dict[str, Any] = {}
    for duplicate in reversed(duplicates):
        attributes.update(duplicate.attributes or {})
    survivor.attributes = {**attributes, **(survivor.attributes or {})}


def _unique_duplicates(survivor_id: uuid.UUID, duplicate_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    if survivor_id in duplicate_ids:
        raise SurvivorAmongDuplicates(
            errors=[
                {
                    "loc": ["body", "duplicate_ids", duplicate_ids.index(survivor_id)],
                    "msg": _SURVIVOR_LISTED.get(),
                    "type": "survivor_in_duplicates",
                }
            ]
        )
    return list(dict.fromkeys(duplicate_ids))  # a repeated id is merged once


async def _lock(
    session: AsyncSession, tenant_id: uuid.UUID, survivor_id: uuid.UUID, ids: list[uuid.UUID]
) -> tuple[Customer, list[Customer]]:
    locked = {
        c.id: c for c in await repository.lock_customers(session, tenant_id, [survivor_id, *ids])
    }
    missing = [str(i) for i in [survivor_id, *ids] if i not in locked]
    if missing:
        # Another tenant's customer is reported exactly like one that does not exist.
        listed = ", ".join(missing)
        raise CustomerNotFound(Text(f"找不到客户：{listed}", f"No such customer: {listed}"))
    return locked[survivor_id], [locked[i] for i in ids]


async def merge_customers(
    session: AsyncSession,
    principal: Principal,
    survivor_id: uuid.UUID,
    duplicate_ids: list[uuid.UUID],
    if_match: str | None,
) -> Merged:
    """Merge `duplicate_ids` into the survivor: move their rows, keep their codes as
    aliases, fill the survivor's empty fields, delete them; audited per customer.

    422 when the survivor is among the duplicates, 404 when any customer is unknown (or
    another tenant's, or merged away meanwhile), 412 when If-Match names an old version
    of the survivor.
    """
    tenant_id = principal.tenant_id
    ids = _unique_duplicates(survivor_id, duplicate_ids)
    survivor, duplicates = await _lock(session, tenant_id, survivor_id, ids)
    check_if_match(if_match, survivor.version)
    before = AUDITED.snapshot(survivor)
    before_duplicates = [AUDITED.snapshot(d) for d in duplicates]
    fill_profile(survivor, duplicates)
    for duplicate in duplicates:
        session.expunge(duplicate)  # deleted below by one statement, not by the ORM

    moved = {
        table.model.__tablename__: await repository.move_rows(
            session,
            table.model,
            tenant_id,
            survivor_id,
            ids,
            unless_survivor_has=table.unless_survivor_has,
        )
        for table in MOVED_WITH_THE_CUSTOMER
    }
    await repository.keep_codes_as_aliases(session, tenant_id, survivor_id, ids)
    await repository.delete_customers(session, tenant_id, ids)
    for duplicate_id, duplicate_before in zip(ids, before_duplicates, strict=True):
        after = {"merged_into": str(survivor_id)}
        AUDITED.record(session, principal, duplicate_id, "merge", duplicate_before, after)
    survivor.version += 1
    merged = {"merged_from": [str(i) for i in ids], "moved": moved}
    await AUDITED.write(session, principal, survivor, "merge", before=before, extra=merged)
    aliases = await repository.aliases_of(session, tenant_id, survivor_id)
    return Merged(survivor=survivor, aliases=aliases, merged_ids=ids, moved=moved)
