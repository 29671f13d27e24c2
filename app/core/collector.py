"""Python's garbage collector, tuned for a process that serves for a long time.

Everything a server or worker allocates while starting (modules, the app and its
schemas, SQLAlchemy's metadata, cached plans) lives as long as the process. Left in the
collector's generations, every full collection walks it again: profiled at 1M
customers, collections took half of a results page's CPU (106 → 51 ms per page of 500
with rationale once start-up's objects were frozen and the young generation collected
less often; bench/RESULTS.md).
"""

import gc
from typing import Final

# Container allocations between two collections of the young generation (CPython's
# default is 700): a request building hundreds of rationales triggers a few, not dozens.
YOUNG_THRESHOLD: Final = 20_000


def settle_after_start() -> None:
    """Once started: collect what start-up left, move the survivors out of the
    collector's sight for good (`gc.freeze`), and collect the young generation less
    often. Objects are still freed when no longer referenced; only cycles created at
    start-up are never looked at again."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
