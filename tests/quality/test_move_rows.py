"""The merge's row mover for tables unique per customer and key (the assignments hook).

No such table exists yet, so interactions stand in for one, keyed by `channel`: the
survivor's own row per channel wins, and of the duplicates' rows per channel the most
recently updated one moves.
"""

from datetime import timedelta

from sqlalchemy import func, select, update

from app.core.db import Database
from app.models import Interaction
from app.quality import repository
from tests.conftest import TenantKeys
from tests.quality.factories import add_activity, add_valid_customers


async def test_rows_unique_per_key_keep_the_survivors_own_and_move_the_newest_per_key(
    tenant: TenantKeys, database: Database
) -> None:
    t = tenant.id
    survivor, first, second = await add_valid_customers(database, t, 3)
    await add_activity(database, t, survivor, interactions=1, channel="phone")
    await add_activity(database, t, first, interactions=1, channel="phone")
    await add_activity(database, t, first, interactions=1, channel="email")
    await add_activity(database, t, second, interactions=1, channel="email")
    await add_activity(database, t, second, interactions=1, channel="wechat")
    async with database.sessionmaker() as session, session.begin():
        # the second duplicate's e-mail row is the newer one (by the database's clock, which
        # dated the others)
        await session.execute(
            update(Interaction)
            .where(Interaction.customer_id == second)
            .values(updated_at=func.now() + timedelta(hours=1))
        )
        newest_email = await session.scalar(
            select(Interaction.id).where(
                Interaction.customer_id == second, Interaction.channel == "email"
            )
        )

    async with database.sessionmaker() as session, session.begin():
        moved = await repository.move_rows(
            session, Interaction, t, survivor, [first, second], unless_survivor_has=("channel",)
        )

    assert moved == 2
    async with database.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Interaction.id, Interaction.channel).where(
                    Interaction.customer_id == survivor
                )
            )
        ).all()
    assert sorted(channel for _, channel in rows) == ["email", "phone", "wechat"]
    assert newest_email in {row_id for row_id, _ in rows}
