"""Cursor (keyset) pagination: `limit` 1–500, opaque `cursor`, `next_cursor`, stable order.

The cursor encodes the sort key of the last item returned; the next page is the rows
strictly after it in the same order, so pages never skip or repeat rows while others
insert, and each page is one index range scan.
"""

import base64
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field, WithJsonSchema
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import InvalidInput
from app.core.i18n import Text

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, and the cursor of the next one (null on the last page)."""

    items: list[T]
    next_cursor: str | None = Field(default=None, examples=[None])


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: str | None


# What `encode_cursor` writes: URL-safe base64 without padding.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"
CURSOR_MAX_LENGTH = 512
_CURSOR_SHAPE = re.compile(CURSOR_PATTERN)


class InvalidCursor(InvalidInput):
    """A cursor that no page of this list gave out: malformed, forged, or another list's.
    Every list answers it the same way, whatever was wrong with it."""

    def __init__(self) -> None:
        message = Text("无效的游标", "invalid cursor")
        super().__init__(
            message,
            errors=[{"loc": ["query", "cursor"], "msg": message, "type": "cursor_invalid"}],
        )


def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page (1–500)")] = 50,
    cursor: Annotated[
        str | None,
        Query(description="`next_cursor` of the previous page (opaque, URL-safe base64)"),
        # Documented here, checked by `decode_cursor` (so a cursor of the wrong shape gets
        # the same answer as a forged one): clients and fuzzers see the format.
        WithJsonSchema(
            {"type": "string", "pattern": CURSOR_PATTERN, "maxLength": CURSOR_MAX_LENGTH}
        ),
    ] = None,
) -> PageParams:
    if cursor is not None:
        decode_cursor(cursor)  # refused before any query runs
    return PageParams(limit=limit, cursor=cursor)


PageQuery = Annotated[PageParams, Depends(page_params)]


def encode_cursor(values: list[Any]) -> str:
    """The cursor of a page that ends at `values` (the sort key of its last item)."""
    raw = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """The values `encode_cursor` wrote; InvalidCursor for anything else. Callers check
    the values' count and types and raise InvalidCursor when they do not fit."""
    if len(cursor) > CURSOR_MAX_LENGTH or not _CURSOR_SHAPE.match(cursor):
        raise InvalidCursor
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        # validate: a character outside the alphabet is an error, not skipped.
        values = json.loads(base64.b64decode(padded.encode(), altchars=b"-_", validate=True))
    except (ValueError, TypeError):
        raise InvalidCursor from None
    if not isinstance(values, list):
        raise InvalidCursor
    return values


def _encode(values: list[Any]) -> str:
    return encode_cursor([v.isoformat() if isinstance(v, datetime) else str(v) for v in values])


def _decode(cursor: str, columns: list[InstrumentedAttribute[Any]]) -> list[Any]:
    values = decode_cursor(cursor)
    if len(values) != len(columns):
        raise InvalidCursor
    try:
        return [_parse(value, column) for value, column in zip(values, columns, strict=True)]
    except (ValueError, TypeError):
        raise InvalidCursor from None


def _parse(value: Any, column: InstrumentedAttribute[Any]) -> Any:
    if not isinstance(value, str):
        raise TypeError("cursor values are strings")
    python_type = column.type.python_type
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is uuid.UUID:
        return uuid.UUID(value)
    return python_type(value)


async def keyset_page(
    session: AsyncSession,
    statement: Select[Any],
    order_by: list[InstrumentedAttribute[Any]],
    params: PageParams,
    *,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """Rows of one page of `statement` (which selects one entity) and the next cursor.

    `order_by` must end in a unique column (the id) so the order is total.
    """
    if params.cursor:
        after = _decode(params.cursor, order_by)
        key = tuple_(*order_by)
        statement = statement.where(key < tuple_(*after) if descending else key > tuple_(*after))
    ordering = [c.desc() for c in order_by] if descending else list(order_by)
    rows = list(
        (await session.scalars(statement.order_by(*ordering).limit(params.limit + 1))).all()
    )
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = rows[-1]
    return rows, _encode([getattr(last, column.key) for column in order_by])
