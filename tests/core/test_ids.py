"""Row ids for bulk writes: valid version-7 UUIDs, unique, in the order they were made."""

import time
import uuid

import pytest

from app.core import ids
from app.core.ids import MAX_BATCH, time_ordered_ids


def test_ids_are_version_7_uuids_that_sort_in_the_order_they_were_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = time.time_ns()
    monkeypatch.setattr(ids.time, "time_ns", lambda: now)
    first = [uuid.UUID(text) for text in time_ordered_ids(5000)]
    same_millisecond = [uuid.UUID(text) for text in time_ordered_ids(5000)]
    monkeypatch.setattr(ids.time, "time_ns", lambda: now + 1_000_000)
    next_millisecond = [uuid.UUID(text) for text in time_ordered_ids(5000)]
    made = first + same_millisecond + next_millisecond
    assert {(i.version, i.variant) for i in made} == {(7, uuid.RFC_4122)}
    assert len(set(made)) == len(made)
    assert sorted(first) == first
    assert sorted(same_millisecond) == same_millisecond
    assert max(first + same_millisecond) < min(next_millisecond)
    assert int.from_bytes(made[0].bytes[:6], "big") == now // 1_000_000


def test_a_batch_larger_than_the_counter_is_refused() -> None:
    with pytest.raises(ValueError, match="at most"):
        time_ordered_ids(MAX_BATCH + 1)
