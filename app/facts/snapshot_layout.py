"""Where a run keeps each value of its snapshot.

The snapshot of a customer is one array per value type (`run_results.nums`, `ints`,
`dates`, `texts`, `bools`, `lists`); a field's place is its index in its type's array,
fixed per run and stored in `runs.fields`. Classification runs write snapshots
(app/runs); previews read them back as field values (app/facts/snapshots.py).
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from sqlalchemy import BigInteger, Boolean, ColumnElement, Date, Numeric, Text, cast, func, null
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.types import TypeEngine

from app.catalog import FieldCatalog, FieldDef, FieldType

# The snapshot array of each field type, and its element type.
ARRAY_OF: Final[dict[FieldType, str]] = {
    "number": "nums",
    "integer": "ints",
    "date": "dates",
    "string": "texts",
    "enum": "texts",
    "boolean": "bools",
    "string_list": "lists",
}
ELEMENT_TYPES: Final[dict[str, TypeEngine[Any]]] = {
    "nums": Numeric(),
    "ints": BigInteger(),
    "dates": Date(),
    "texts": Text(),
    "bools": Boolean(),
    "lists": Text(),
}


@dataclass(frozen=True, slots=True)
class Slot:
    """A field's place in the snapshot: `index` (from 1) in the array `array`."""

    key: str
    type: FieldType
    array: str
    index: int


@dataclass(frozen=True)
class SnapshotLayout:
    """The fields a run's rules and scope read, and where each is kept."""

    slots: tuple[Slot, ...]
    custom: tuple[FieldDef, ...]  # the custom fields among them, as defined at the start

    @classmethod
    def for_fields(cls, keys: Iterable[str], catalog: FieldCatalog) -> "SnapshotLayout":
        """A layout for `keys` (each in `catalog`), in key order within each array."""
        counts: dict[str, int] = {}
        slots = []
        custom = []
        for key in sorted(set(keys)):
            field = catalog.get(key)
            if field is None:
                raise ValueError(f"unknown field {key!r}")
            name = ARRAY_OF[field.type]
            counts[name] = counts.get(name, 0) + 1
            slots.append(Slot(key, field.type, name, counts[name]))
            if field.kind == "custom":
                custom.append(field)
        return cls(tuple(slots), tuple(custom))

    @property
    def keys(self) -> list[str]:
        return [slot.key for slot in self.slots]

    def catalog(self) -> FieldCatalog:
        """The catalog the run's rules were read with: built-in fields and the custom
        fields as they were defined when the run started."""
        return FieldCatalog(self.custom)

    def to_json(self) -> dict[str, Any]:
        """What `runs.fields` holds."""
        return {
            "values": [asdict(slot) for slot in self.slots],
            "custom": [_field_json(field) for field in self.custom],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "SnapshotLayout":
        slots = tuple(Slot(**slot) for slot in data.get("values", ()))
        custom = tuple(_field_from_json(field) for field in data.get("custom", ()))
        return cls(slots, custom)

    def arrays(self, columns: Mapping[str, ColumnElement[Any]]) -> dict[str, ColumnElement]:
        """Each snapshot array as a SQL expression over the fields' columns (NULL for a
        type no field has)."""
        out: dict[str, ColumnElement] = {}
        for name, element in ELEMENT_TYPES.items():
            items = [columns[s.key] for s in self.slots if s.array == name]
            if name == "lists":
                items = [func.to_json(item).cast(Text()) for item in items]
            out[name] = (
                cast(array(items, type_=element), ARRAY(element))
                if items
                else cast(null(), ARRAY(element))
            )
        return out

    def values(self, row: Mapping[str, Any], keys: Iterable[str] | None = None) -> dict[str, Any]:
        """The snapshot of one result row as field values by key (only `keys` if given)."""
        wanted = None if keys is None else set(keys)
        values: dict[str, Any] = {}
        for slot in self.slots:
            if wanted is not None and slot.key not in wanted:
                continue
            array_value = row[slot.array]
            value = array_value[slot.index - 1] if array_value is not None else None
            if slot.array == "lists" and value is not None:
                value = json.loads(value)
            values[slot.key] = value
        return values


def _field_json(field: FieldDef) -> dict[str, Any]:
    data = asdict(field)
    for key in ("enum_values", "aliases_zh"):
        if data[key] is not None:
            data[key] = list(data[key])
    return data


def _field_from_json(data: Mapping[str, Any]) -> FieldDef:
    enum_values = data.get("enum_values")
    return FieldDef(
        **{
            **data,
            "enum_values": tuple(enum_values) if enum_values is not None else None,
            "aliases_zh": tuple(data.get("aliases_zh") or ()),
        }
    )
