"""The rows of an orders, interactions or complaints file as the activity writer stages them.

The bulk API validates every item with its pydantic model. An imported row has had every
cell normalised by its column's parser already (`cells`), so most of what the model
checks holds by construction: enums come out as their API values, amounts as 2-place
decimals within NUMERIC(18, 2), booleans as booleans. What is left is checked here
directly: text lengths, text PostgreSQL can store, lower bounds of numbers (an order's
amount is not negative), plausible years. A row that fails any
of these checks is handed to the item model after all, so its errors read exactly as the
bulk API's and the model stays the one definition of a valid item (a property test keeps
the two in agreement).
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from app.activity.service import ActivityKind, local_instant
from app.core.bulk import validate_items
from app.core.schemas import is_unstorable_text
from app.imports.columns import EntitySpec
from app.imports.rows import Header, RowError, service_errors

# The years the API accepts (app.core.schemas.DateOrDateTime).
_YEARS: Final = range(1900, 3000)
_NO_LIMIT: Final = 1 << 62


class ActivityRows:
    """Stages the items of one activity file (see the module docstring)."""

    def __init__(
        self, spec: EntitySpec, header: Header, kind: ActivityKind, zone: ZoneInfo
    ) -> None:
        self.spec, self.header, self.kind, self.zone = spec, header, kind, zone
        self.when = kind.table.when
        fields = kind.model.model_fields
        self.own = tuple((name, fields[name].default) for name, _ in kind.table.columns)
        properties = kind.model.model_json_schema()["properties"]
        self.text_limits = dict(_bounds(properties, "maxLength"))
        self.minimums = _bounds(properties, "minimum")
        self.days: dict[date, tuple[datetime, date]] = {}

    def stage(
        self, row: int, cells: Sequence[Any], item: dict[str, Any], errors: list[RowError]
    ) -> tuple[Any, ...] | None:
        """The staged row of an item made from a file row, or None after appending the
        row's errors."""
        staged = self._checked(item)
        if staged is not None:
            return staged
        good, refused = validate_items([item], self.kind.model)
        if refused:
            errors.extend(service_errors(self.spec, self.header, refused[0], row, cells))
            return None
        return self.kind.row(good[0][1], self.zone)

    def _checked(self, item: dict[str, Any]) -> tuple[Any, ...] | None:
        limits = self.text_limits
        for name, value in item.items():
            if type(value) is str and (
                is_unstorable_text(value) or len(value) > limits.get(name, _NO_LIMIT)
            ):
                return None
        for name, minimum in self.minimums:
            value = item.get(name)
            if value is not None and value < minimum:
                return None
        when = item[self.when]
        if type(when) is date:
            instant_and_day = self.days.get(when)
            if instant_and_day is None:
                if when.year not in _YEARS:
                    return None
                instant, day = local_instant(when, self.zone)
                # The instant in UTC: asyncpg encodes it without a time-zone conversion.
                instant_and_day = self.days[when] = (instant.astimezone(UTC), day)
        elif when.year in _YEARS:
            instant_and_day = local_instant(when, self.zone)
        else:
            return None
        get = item.get
        return (
            item["external_id"],
            item["customer_code"],
            *instant_and_day,
            *[get(name, default) for name, default in self.own],
        )


def _bounds(properties: dict[str, Any], keyword: str) -> tuple[tuple[str, Any], ...]:
    """(field, bound) of each field of an item model's JSON schema whose schema (or one of
    its anyOf options, for optional fields) has `keyword` (maxLength, minimum)."""
    found = []
    for name, schema in properties.items():
        for option in [schema, *schema.get("anyOf", [])]:
            if keyword in option:
                found.append((name, option[keyword]))
                break
    return tuple(found)
