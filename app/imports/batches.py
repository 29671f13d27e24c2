"""Cutting a file's rows into batches of normalised items.

Everything here is synchronous and touches no database, so the job prepares the next
batch on the event loop while PostgreSQL writes the current one.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from app.imports.columns import EntitySpec
from app.imports.reader import Row
from app.imports.rows import Header, RowError, convert, duplicate_error, is_blank

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
        self, spec: EntitySpec, header: Header, rows: Iterator[Row], stage: Stage | None = None
    ) -> None:
        self.spec = spec
        self.header = header
        self.rows = rows
        self.stage = stage
        self.first_row_of: dict[str, int] = {}
        self.data_rows = 0  # non-blank rows read so far

    def next_batch(self, size: int) -> Batch:
        """The next `size` records (fewer at the end of the file, none after it)."""
        batch = Batch()
        spec, header, first_row_of, stage = self.spec, self.header, self.first_row_of, self.stage
        key_field = spec.key
        for row, cells in islice(self.rows, size):
            batch.consumed += 1
            if is_blank(cells):
                continue
            self.data_rows += 1
            item = convert(header, row, cells, batch.errors)
            if item is None:
                batch.failed += 1
                continue
            key = item[key_field]
            first = first_row_of.get(key)
            if first is not None:
                batch.errors.append(duplicate_error(spec, header, row, key, first))
                batch.failed += 1
                continue
            first_row_of[key] = row
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

    def skip(self, records: int) -> None:
        """Pass over records an earlier attempt already imported, replaying the same
        checks so the remembered keys are exactly what they were."""
        while records > 0:
            step = min(records, 10_000)
            if self.next_batch(step).consumed < step:
                return
            records -= step
