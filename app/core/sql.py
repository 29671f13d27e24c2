"""Statement pieces the repositories share: one array parameter for many ids, the row
count of a write, and whether a transaction is visible in a stored snapshot."""

import uuid
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CursorResult,
    Executable,
    Text,
    Uuid,
    func,
    literal,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import UserDefinedType


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


class _PostgresType(UserDefinedType[Any]):
    """A PostgreSQL type SQLAlchemy does not name, for casts."""

    cache_ok = True

    def __init__(self, name: str) -> None:
        self.name = name

    def get_col_spec(self, **_: Any) -> str:
        return self.name


def current_snapshot() -> ColumnElement[str]:
    """PostgreSQL's snapshot of the running statement, as text to store: which
    transactions had committed (`pg_current_snapshot()`)."""
    return sql_cast(func.pg_current_snapshot(), Text)


def visible_in(
    txid: ColumnElement[int] | Any, snapshot: ColumnElement[str] | Any
) -> ColumnElement[bool]:
    """Whether the transaction `txid` (`pg_current_xact_id()` as a bigint) had committed
    in `snapshot` (stored by `current_snapshot`)."""
    stored = literal(snapshot, Text()) if isinstance(snapshot, str) else snapshot
    return func.pg_visible_in_snapshot(
        sql_cast(sql_cast(txid, Text), _PostgresType("xid8")),
        sql_cast(stored, _PostgresType("pg_snapshot")),
    )
