"""The tenant's industry list (所属行业): seeded with the standard hierarchy, editable.

Customers may carry an industry outside the list; the data-quality report shows them.
"""

import uuid

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import record_event
from app.core.auth import Principal
from app.core.errors import InvalidInput
from app.core.i18n import Text
from app.customers.industries import INDUSTRY_LABELS_EN, INDUSTRY_SEPARATOR
from app.models import Industry


async def seed_standard_industries(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Give a new tenant the standard hierarchy."""
    await session.execute(
        insert(Industry)
        .values(
            [
                {"tenant_id": tenant_id, "code": code, "label_en": label}
                for code, label in INDUSTRY_LABELS_EN.items()
            ]
        )
        .on_conflict_do_nothing()
    )


async def list_industries(session: AsyncSession, tenant_id: uuid.UUID) -> list[Industry]:
    rows = await session.scalars(
        select(Industry).where(Industry.tenant_id == tenant_id).order_by(Industry.code)
    )
    return list(rows)


async def replace_industries(
    session: AsyncSession, principal: Principal, items: list[tuple[str, str | None]]
) -> list[Industry]:
    """Replace the list; every child's parent must be in it too."""
    codes = {code for code, _ in items}
    orphans = sorted(
        code
        for code in codes
        if INDUSTRY_SEPARATOR in code and code.rsplit(INDUSTRY_SEPARATOR, 1)[0] not in codes
    )
    if orphans:
        raise InvalidInput(
            Text(f"缺少上级行业:{orphans}", f"Parent industries missing for {orphans}"),
            errors=[
                {"loc": ["body", "items"], "msg": f"no parent for {orphans}", "type": "orphan"}
            ],
        )
    before = [i.code for i in await list_industries(session, principal.tenant_id)]
    await session.execute(delete(Industry).where(Industry.tenant_id == principal.tenant_id))
    if items:
        await session.execute(
            insert(Industry).values(
                [
                    {"tenant_id": principal.tenant_id, "code": code, "label_en": label}
                    for code, label in items
                ]
            )
        )
    record_event(
        session,
        principal,
        entity_type="industries",
        entity_id=str(principal.tenant_id),
        action="replace",
        before={"codes": before},
        after={"codes": sorted(codes)},
    )
    return await list_industries(session, principal.tenant_id)
