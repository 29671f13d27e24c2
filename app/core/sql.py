"""Statement pieces the repositories share: one array parameter for many ids, and the
row count of a write."""

import uuid
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import BindParameter, CursorResult, Executable, Uuid, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession


def uuid_array(ids: Iterable[uuid.UUID | None]) -> BindParameter[Any]:
    """Many ids as ONE `uuid[]` parameter, for `= ANY(…)`, `unnest(…)` or `@>`.

    One parameter whatever the count: a statement takes at most 32,767 bind parameters
    (a page of duplicate groups names up to 50,000 customers), and the statement's text,
    so its prepared plan, stays the same for any number of ids.
    """
    return literal(list(ids), ARRAY(Uuid()))


async def rows_written(
    session: AsyncSession, statement: Executable, execution_options: dict[str, Any] | None = None
) -> int:
    """Run an INSERT, UPDATE or DELETE without RETURNING; the number of rows it wrote.

    The session types every result as `Result`; for such a statement it is the
    `CursorResult` that carries the count.
    """
    result = await session.execute(statement, execution_options=execution_options or {})
    return cast(CursorResult[Any], result).rowcount
