"""The collector settles after start-up: what start-up left is frozen out of every later
collection, and the young generation is collected less often."""

import gc
from collections.abc import Iterator

import pytest

from app.core.collector import YOUNG_THRESHOLD, settle_after_start


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector")
def test_start_ups_objects_are_frozen_and_young_collections_come_less_often() -> None:
    started = [[index] for index in range(3)]  # containers start-up built, held for good
    settle_after_start()
    assert gc.get_freeze_count() >= len(started)
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD


@pytest.mark.usefixtures("collector")
def test_cycles_made_after_start_are_still_collected() -> None:
    settle_after_start()

    class Node:
        other: object = None

    first, second = Node(), Node()
    first.other, second.other = second, first
    del first, second
    assert gc.collect() >= 2
