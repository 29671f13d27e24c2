"""Which run snapshots a preview may read: one that keeps every field it needs, typed as
the catalog types it now."""

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from app.catalog import BUILTIN_CATALOG, FieldCatalog, FieldDef
from app.facts.snapshot_layout import SnapshotLayout
from app.facts.snapshots import holds

KEYS = sorted(field.key for field in BUILTIN_CATALOG)


@given(stored=st.sets(st.sampled_from(KEYS)), wanted=st.sets(st.sampled_from(KEYS)))
def test_a_snapshot_holds_exactly_the_fields_it_keeps(stored: set[str], wanted: set[str]) -> None:
    layout = SnapshotLayout.for_fields(stored, BUILTIN_CATALOG)
    assert holds(layout, wanted, BUILTIN_CATALOG) == (wanted <= stored)


def test_a_custom_field_retyped_since_the_run_is_not_held() -> None:
    score = FieldDef(
        key="score", kind="custom", type="integer", unit=None, label_zh="评分", label_en="Score"
    )
    layout = SnapshotLayout.for_fields(["score"], FieldCatalog([score]))
    assert holds(layout, ["score"], FieldCatalog([score]))
    retyped = FieldCatalog([replace(score, type="number")])
    assert not holds(layout, ["score"], retyped)
    assert not holds(layout, ["score"], BUILTIN_CATALOG)  # deleted since
