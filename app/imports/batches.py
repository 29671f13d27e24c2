"""Cutting a file's rows into batches of normalised items.

Nothing here touches the database, so the job prepares the next batch on the event loop
while PostgreSQL writes the current one. A batch is read a step of rows at a time and
lets the loop run between steps (the job's lease renewal, the previous batch's write
waiting for PostgreSQL), and it ends early once its rows hold `BATCH_CHARS` characters
of text, so what a batch keeps in memory is bounded whatever the rows hold.
"""

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from app.imports.columns import EntitySpec
from app.imports.reader import Row, RowStream
from app.imports.rows import Header, RowError, convert, duplicate_error, is_blank
from app.imports.seen_keys import SeenKeys

STEP_ROWS = 1000  # rows read between two turns of the event loop
BATCH_CHARS = 8_000_000  # characters of text a batch holds at most (a few tens of MB)

# (row, cells, item, errors) -> what the batch holds for the row, or None (errors added)
Stage = Callable[[int, Sequence[Any], dict[str, Any], list[RowError]], Any]


@dataclass
class Batch:
    """Up to N records of the file, ready to be written."""

    consumed: int = 0  # records read, blank ones included (the resume position counts these)
    # Per row to write: the bulk item (customers) or the staged row (activity).
    items: list[Any] = field(default_factory=list)
    sources: list[tuple[int, Sequence[Any]]] = field(default_factory=list)  # per item
    errors: list[RowError] = field(default_factory=list)
    failed: int = 0  # rows refused before reaching the writer


class BatchReader:
    """Reads batches from the rows after the header; remembers keys across batches so a
    code repeated anywhere later in the file is reported on the later row.

    `stage`, when given, turns each item that passed the checks into what the batch
    holds for it (the activity writer's row); it runs after the duplicate check, so a key
    counts as seen even when its row fails later.
    """

    def __init__(
        self, spec: EntitySpec, header: Header, rows: RowStream, stage: Stage | None = None
    ) -> None:
        self.spec = spec
        self.header = header
        self.stream = rows
        self.rows = iter(rows)
        self.stage = stage
        self.first_row_of = SeenKeys()
        self.data_rows = 0  # non-blank rows read so far

    async def read_batch(self, size: int) -> Batch:
        """The next `size` records (fewer at the end of the file or when they hold
        `BATCH_CHARS` characters, none after the end), read a step at a time."""
        batch = Batch()
        limit = self.stream.chars + BATCH_CHARS
        while batch.consumed < size:
            before, step = batch.consumed, min(STEP_ROWS, size - batch.consumed)
            self.next_batch(step, batch, limit)
            if batch.consumed - before < step or self.stream.chars > limit:
                break  # the end of the file, or of what one batch may hold
            await asyncio.sleep(0)
        return batch

    def next_batch(self, size: int, batch: Batch | None = None, chars: int | None = None) -> Batch:
        """The next `size` records, added to `batch` (a new one by default); stops early
        after the row that takes the characters read past `chars`."""
        batch = batch if batch is not None else Batch()
        spec, header, first_row_of, stage = self.spec, self.header, self.first_row_of, self.stage
        key_field = spec.key
        rows = self.rows if chars is None else _until(self.rows, self.stream, chars)
        for row, cells in islice(rows, size):
            batch.consumed += 1
            if is_blank(cells):
                continue
            self.data_rows += 1
            item = convert(header, row, cells, batch.errors)
            if item is None:
                batch.failed += 1
                continue
            key = item[key_field]
            first = first_row_of.first_row(key, row)
            if first is not None:
                batch.errors.append(duplicate_error(spec, header, row, key, first))
                batch.failed += 1
                continue
            if stage is not None:
                item = stage(row, cells, item, batch.errors)
                if item is None:
                    batch.failed += 1
                    continue
            batch.items.append(item)
            # As a tuple of plain values the source is dropped from the cycle collector's
            # watch at its next pass; a list would be rescanned for as long as it is kept.
            batch.sources.append((row, tuple(cells)))
        return batch

    async def skip(self, records: int) -> None:
        """Pass over records an earlier attempt already imported, replaying the same
        checks so the remembered keys are exactly what they were."""
        while records > 0:
            step = min(records, STEP_ROWS)
            if self.next_batch(step).consumed < step:
                return
            records -= step
            await asyncio.sleep(0)


def _until(rows: Iterator[Row], stream: RowStream, chars: int) -> Iterator[Row]:
    for row in rows:
        yield row
        if stream.chars > chars:
            return
