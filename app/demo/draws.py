"""Seeded random streams and the fast draws the row generators use."""

import random
import uuid
from bisect import bisect
from itertools import accumulate
from typing import Any, Final

from asyncpg.pgproto.pgproto import UUID as PgUUID

_UUID4_CLEAR: Final = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID4_SET: Final = (0x4000 << 64) | (0x8000 << 48)


def seeded_random(*parts: object) -> random.Random:
    """A random stream named by `parts` (seed, tenant, table): the same on every run.

    String seeds are hashed with SHA-512 by `random`, independent of PYTHONHASHSEED.
    """
    return random.Random(":".join(map(str, ("demo", *parts))))  # noqa: S311 - data, not secrets


def random_uuid(rng: random.Random) -> uuid.UUID:
    """A version-4 UUID from a seeded stream, so reruns give the same ids.

    Built as asyncpg's UUID (a `uuid.UUID` subclass, equal to the standard one): it is
    four times faster to make and COPY encodes it without conversion, which counts at
    twenty million rows.
    """
    return PgUUID(((rng.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET).to_bytes(16, "big"))


class Draws:
    """The draws the per-row loops need, on one seeded stream.

    `random.randrange` and `choice` cost over a microsecond each; scaling `random()` is
    several times cheaper, and at twenty million rows that is most of the generator.
    """

    __slots__ = ("random", "rng")

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.random = rng.random

    def between(self, low: int, high: int) -> int:
        """An integer in [low, high)."""
        return low + int(self.random() * (high - low))

    def inclusive(self, bounds: tuple[int, int]) -> int:
        """An integer in [bounds[0], bounds[1]]."""
        low, high = bounds
        return low + int(self.random() * (high - low + 1))

    def pick(self, items: Any) -> Any:
        """One element of a sequence."""
        return items[int(self.random() * len(items))]

    def chance(self, percent: float) -> bool:
        """True with the given probability (in percent)."""
        return self.random() * 100 < percent


class Weighted:
    """Weighted choice by bisecting cumulative weights (faster than random.choices)."""

    def __init__(self, items: Any, weights: Any) -> None:
        self.items = tuple(items)
        self.cumulative = tuple(accumulate(weights))

    def pick(self, draw: Draws) -> Any:
        """One item, with probability proportional to its weight."""
        return self.items[bisect(self.cumulative, draw.random() * self.cumulative[-1])]
