"""The compact key table answers exactly as a dict of first rows would."""

from hypothesis import given
from hypothesis import strategies as st

from app.imports.seen_keys import SeenKeys


@given(st.lists(st.text(max_size=12), max_size=3000))
def test_the_key_table_gives_each_key_its_first_row_like_a_dict(keys: list[str]) -> None:
    table, model = SeenKeys(capacity=4), {}
    for row, key in enumerate(keys, start=2):
        assert table.first_row(key, row) == model.get(key)
        model.setdefault(key, row)
    assert len(table) == len(model)


def test_a_million_keys_take_tens_of_megabytes_not_a_hundred() -> None:
    table = SeenKeys()
    for row in range(1_048_576):
        table.first_row(f"SO-2024-{row:07d}", row + 2)
    assert table.first_row("SO-2024-0000000", 9) == 2
    assert table._hashes.itemsize * len(table._hashes) * 2 <= 64 * 2**20
