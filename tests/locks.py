"""Making two transactions really overlap, without a clock.

A test holds one transaction open (an event, or a patched step that waits) and releases
it only once the other one is seen waiting for a lock in PostgreSQL — or has finished,
having had no lock to wait for; the test's assertions then say whether that was right.
"""

import asyncio
from collections.abc import Collection
from typing import Any

from sqlalchemy import text

from app.core.db import Database

# The statistics are read in a fresh transaction each time: one transaction would keep
# seeing its first snapshot of pg_stat_activity.
_WAITING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event_type = 'Lock' AND query LIKE :query"
)


async def until_one_waits_for_a_lock(
    database: Database, unless_done: Collection["asyncio.Future[Any]"], query: str = "%"
) -> bool:
    """Poll until a session of this database running a statement LIKE `query` waits for
    a lock (True), or one of `unless_done` has finished (False). `unless_done` is read
    at every look: a task the test adds to it later counts too."""
    while not any(other.done() for other in unless_done):
        async with database.sessionmaker() as session:
            if await session.scalar(_WAITING, {"query": query}):
                return True
        await asyncio.sleep(0.01)  # between two looks at pg_stat_activity
    return False
