"""Time-ordered row ids (UUID version 7, RFC 9562) made in Python for bulk writes.

Bulk writes give each new row its id from here rather than from a column default:

- PostgreSQL's `gen_random_uuid()` reads the kernel's random source once per row (on
  builds without OpenSSL it opens /dev/urandom each time: about 2 µs a row), while one
  `os.urandom` call serves a whole batch here;
- ids that grow with time keep primary-key inserts at the right edge of the B-tree
  instead of at random pages all over it.

Layout (RFC 9562 §6.2, method 1): 48-bit Unix time in milliseconds, version 7, 12 random
bits shared by the batch, variant 10, then a 20-bit counter (the row's place in the batch)
and 40 random bits per row. Ids of one batch therefore sort in row order, and two batches
made in the same millisecond differ in 52 random bits at least.
"""

import os
import time
from typing import Final

MAX_BATCH: Final = 1 << 20  # the counter's range


def time_ordered_ids(count: int) -> list[str]:
    """`count` new UUIDv7 ids as text (asyncpg's COPY encodes text into `uuid`)."""
    if count > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} ids per call")
    millis = time.time_ns() // 1_000_000
    head = f"{millis & 0xFFFF_FFFF_FFFF:012x}7{os.urandom(2).hex()[:3]}8"
    tails = os.urandom(5 * count).hex()
    return [f"{head}{i:05x}{tails[10 * i : 10 * i + 10]}" for i in range(count)]
