"""The first row of every key of a file, in 16 bytes a key whatever the keys are.

An import reports a key (customer code, order number …) repeated anywhere later in the
file. A dict of the keys themselves costs ~125 MB at Excel's 1,048,576 rows (more with
long keys), which alone would break an import's memory bound; this table keeps each
key's 64-bit hash and first row in two arrays (open addressing, linear probing).

Two different keys of one file share a 64-bit hash with a probability of about
n² / 2⁶⁵ (3·10⁻⁸ at a million keys), and Python's string hash is keyed per process, so
a file cannot be made to collide on purpose; a collision would report a row as a
repeat of another (visible in the import's errors), never import anything wrongly.
"""

from array import array


class SeenKeys:
    """key → the row it was first seen on."""

    def __init__(self, capacity: int = 1 << 12) -> None:
        self._hashes = array("q", bytes(8 * capacity))
        self._rows = array("q", bytes(8 * capacity))
        self._mask = capacity - 1
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def first_row(self, key: str, row: int) -> int | None:
        """The row `key` was first seen on; None (and `row` remembered) if it is new."""
        code = hash(key) or 1  # 0 marks an empty slot
        hashes, mask = self._hashes, self._mask
        slot = code & mask
        while (found := hashes[slot]) != 0:
            if found == code:
                return self._rows[slot]
            slot = (slot + 1) & mask
        hashes[slot], self._rows[slot] = code, row
        self._count += 1
        if self._count * 2 > mask:
            self._grow()
        return None

    def _grow(self) -> None:
        hashes, rows = self._hashes, self._rows
        capacity = 2 * len(hashes)
        self._hashes = array("q", bytes(8 * capacity))
        self._rows = array("q", bytes(8 * capacity))
        self._mask = mask = capacity - 1
        new_hashes, new_rows = self._hashes, self._rows
        for code, row in zip(hashes, rows, strict=True):
            if code:
                slot = code & mask
                while new_hashes[slot] != 0:
                    slot = (slot + 1) & mask
                new_hashes[slot], new_rows[slot] = code, row
