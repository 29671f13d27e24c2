"""Writing activity rows in bulk: COPY into a staging table, then one set-based upsert.

A batch of rows goes to PostgreSQL with binary COPY into a temporary table of the
transaction, and a single statement then resolves the customer codes (current codes,
else codes merged into another customer), inserts or updates the rows by
(tenant_id, external_id), and answers with three figures: how many rows were created,
how many updated, and the positions of the rows whose code matched no customer. No row
travels back to Python.

Every value reaches PostgreSQL through COPY or a bound parameter; the SQL text is made
only of this module's table and column names.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.ids import time_ordered_ids


@dataclass(frozen=True)
class ActivityTable:
    """An activity table as the bulk writer sees it."""

    name: str  # orders | interactions | complaints
    when: str  # the instant column (ordered_at); the tenant-local day is *_on
    columns: tuple[tuple[str, str], ...]  # the table's own columns and their SQL types

    @property
    def day(self) -> str:
        """The tenant-local day column (ordered_on)."""
        return self.when.removesuffix("_at") + "_on"

    @property
    def staging(self) -> str:
        """The temporary table batches of this table are copied into."""
        return f"{self.name}_staging"

    @property
    def row_columns(self) -> tuple[str, ...]:
        """What a staged row holds, in order: external_id, customer_code, the instant,
        the day, then `columns`."""
        return ("external_id", "customer_code", self.when, self.day, *(c for c, _ in self.columns))


@dataclass(frozen=True)
class Written:
    """What one batch did. `unknown` holds the positions (indexes into the rows given) of
    rows whose customer code matched no customer; they were not written."""

    created: int
    updated: int
    unknown: list[int]


async def write_rows(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    table: ActivityTable,
    rows: Sequence[tuple[Any, ...]],
    *,
    dry_run: bool = False,
) -> Written:
    """Upsert `rows` (shaped as `table.row_columns`, external ids unique among them) for
    the tenant, in the session's transaction.

    With `dry_run` nothing is written: the same resolution is counted against the rows
    that exist, so the figures are those the write would give.
    """
    if not rows:
        return Written(0, 0, [])
    connection = await session.connection()
    statements = _statements(table)
    ids = time_ordered_ids(len(rows))
    if len(rows) <= FEW_ROWS and not dry_run:
        # One statement over arrays: a staging table costs four round trips and leaves
        # dead catalog rows behind, which matters for one order per webhook request.
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        columns = list(zip(*rows, strict=True))
        found = await raw.fetchrow(
            statements.upsert_few, tenant_id, ids, list(range(len(rows))), *columns
        )
        return Written(found["created"], found["updated"], list(found["unknown"]))
    # Through SQLAlchemy, which begins the transaction on the connection if nothing has
    # yet (the table lives until the end of it); a second batch in the same transaction
    # finds the table of the first, hence the DROP.
    for statement in statements.create:
        await connection.exec_driver_sql(statement)
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    await raw.copy_records_to_table(
        table.staging,
        schema_name="pg_temp",
        # Named columns: asyncpg caches the column types by the text of its query.
        columns=("id", "position", *table.row_columns),
        records=[
            (id_, position, *row) for position, (id_, row) in enumerate(zip(ids, rows, strict=True))
        ],
    )
    found = await raw.fetchrow(statements.count if dry_run else statements.upsert, tenant_id)
    return Written(found["created"], found["updated"], list(found["unknown"]))


# Up to this many rows go in one statement over arrays instead of through a staging table.
FEW_ROWS = 100


@dataclass(frozen=True)
class _Statements:
    create: tuple[str, str]
    upsert: str
    count: str
    upsert_few: str


@cache
def _statements(table: ActivityTable) -> _Statements:
    columns = table.row_columns
    typed = [
        ("id", "uuid"),
        ("position", "int4"),
        ("external_id", "text"),
        ("customer_code", "text"),
        (table.when, "timestamptz"),
        (table.day, "date"),
        *table.columns,
    ]
    staged = ", ".join(f"{name} {sql_type}" for name, sql_type in typed)
    # Only this module's table and column names are put into the text: the values are
    # COPY data and the tenant is the bound parameter $1.
    staging = f"pg_temp.{table.staging}"
    create = (
        f"DROP TABLE IF EXISTS {staging}",
        f"CREATE TEMP TABLE {table.staging} ({staged}) ON COMMIT DROP",
    )
    # The few rows' arrays: $2 … in the order of `typed` (ids, positions, then the row).
    arrays = ", ".join(f"${n}::{sql_type}[]" for n, (_, sql_type) in enumerate(typed, start=2))
    unnested = f"unnest({arrays}) AS s({', '.join(name for name, _ in typed)})"

    # A code is a customer's current code, else one merged into another customer: the
    # same precedence as `ids_by_code`.
    def resolved_from(source: str) -> str:
        return f"""
        SELECT s.*, coalesce(c.id, a.customer_id) AS customer_id
        FROM {source}
        LEFT JOIN customers AS c ON c.tenant_id = $1::uuid AND c.code = s.customer_code
        LEFT JOIN customer_aliases AS a
            ON c.id IS NULL AND a.tenant_id = $1::uuid AND a.code = s.customer_code"""  # noqa: S608

    resolved = resolved_from(f"{staging} AS s")
    unknown = "coalesce(array_agg(r.position ORDER BY r.position), '{}')"
    values = [c for c in columns if c != "customer_code"]
    updates = ", ".join(f"{c} = excluded.{c}" for c in ["customer_id", *values[1:]])

    # Rows are inserted in file order: external ids usually grow with it, so the unique
    # index is appended to rather than written at random pages (the join may reorder).
    def upsert_from(resolved: str) -> str:
        return f"""
        WITH resolved AS MATERIALIZED ({resolved}),
        written AS (
            INSERT INTO {table.name} (id, tenant_id, customer_id, {", ".join(values)})
            SELECT r.id, $1::uuid, r.customer_id, {", ".join(f"r.{c}" for c in values)}
            FROM resolved AS r
            WHERE r.customer_id IS NOT NULL
            ORDER BY r.position
            ON CONFLICT (tenant_id, external_id) DO UPDATE SET {updates}, updated_at = now()
            RETURNING (xmax = 0) AS inserted
        )
        SELECT
            (SELECT count(*) FILTER (WHERE inserted) FROM written) AS created,
            (SELECT count(*) FILTER (WHERE NOT inserted) FROM written) AS updated,
            (SELECT {unknown} FROM resolved AS r WHERE r.customer_id IS NULL) AS unknown"""  # noqa: S608

    upsert = upsert_from(resolved)
    upsert_few = upsert_from(resolved_from(unnested))
    count = f"""
        WITH resolved AS MATERIALIZED ({resolved})
        SELECT
            count(*) FILTER (WHERE r.customer_id IS NOT NULL AND t.id IS NULL) AS created,
            count(t.id) AS updated,
            coalesce(
                array_agg(r.position ORDER BY r.position) FILTER (WHERE r.customer_id IS NULL),
                '{{}}'
            ) AS unknown
        FROM resolved AS r
        LEFT JOIN {table.name} AS t
            ON r.customer_id IS NOT NULL AND t.tenant_id = $1::uuid
            AND t.external_id = r.external_id"""  # noqa: S608
    return _Statements(create, upsert, count, upsert_few)
