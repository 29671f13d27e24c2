"""Base classes for request bodies."""

import re
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.core.errors import InvalidInput
from app.core.i18n import Text


def exactly_one_of(first: str, second: str) -> dict[str, Any]:
    """JSON Schema for a body that must give exactly one of two members (not null): a
    model puts it in its `json_schema_extra` beside the validator that checks the same.

    Said with `if`/`then`/`else`, not `oneOf`: generators read a `oneOf` beside the
    properties as a union of its branches and lose the model (openapi-python-client made
    `BacktestRequestType0 | BacktestRequestType1` with nothing but the one member)."""
    given = {"not": {"type": "null"}}
    return {
        "if": {"required": [first], "properties": {first: given}},
        "then": {"properties": {second: {"type": "null"}}},
        "else": {"required": [second], "properties": {second: given}},
    }


def goes_with(member: str, discriminator: str, value: str) -> dict[str, Any]:
    """JSON Schema for "`member` is given (not null) when `discriminator` is `value`, and
    only then" (an absent discriminator is not `value`): one entry of a model's `allOf`,
    beside the validator that checks the same."""
    return {
        "if": {"required": [discriminator], "properties": {discriminator: {"const": value}}},
        "then": {"required": [member], "properties": {member: {"not": {"type": "null"}}}},
        "else": {"properties": {member: {"type": "null"}}},
    }


class RequestBody(BaseModel):
    """A JSON request body: unknown members are refused.

    Booleans and numbers in bodies use the strict types below: a client that sends `0`
    for a boolean or `"5"` for a count has a bug we should tell it about rather than
    paper over (and the OpenAPI schema promises those types). Model-wide strict mode is
    not an option: FastAPI validates parsed JSON in Python mode, where strict refuses
    `"editor"` for an enum and `"…"` for a UUID.
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, value: Any, info: ValidationInfo) -> Any:
        bulk_item = (info.context or {}).get("bulk_item")
        if bulk_item and body_text_checked.get():
            return value  # the whole request body around this item was checked already
        if not has_unstorable_text(value):
            if not bulk_item:
                body_text_checked.set(True)
            return value
        if bulk_item:
            # One item of a bulk request (e.g. an imported row): fail that item only.
            raise ValueError("text must not contain NUL characters or unpaired surrogates")
        raise InvalidInput(
            Text(
                "文本不能包含 NUL 字符或孤立的代理字符",
                "Text must not contain NUL characters or unpaired surrogates",
            ),
            errors=[
                {
                    "loc": ["body", *unstorable_text_at(value)],
                    "msg": "unstorable text",
                    "type": "unstorable_text",
                }
            ],
        )


# Set once a request body passed the check, so the items of a bulk body (validated again
# one by one in the same request) are not walked twice. Jobs run in other tasks, where
# it is unset, so imported rows are always checked.
body_text_checked: ContextVar[bool] = ContextVar("body_text_checked", default=False)


def is_unstorable_text(text: str) -> bool:
    """Whether PostgreSQL cannot store this text (a NUL, or a lone UTF-16 surrogate)."""
    return "\x00" in text or (not text.isascii() and _SURROGATE.search(text) is not None)


def has_unstorable_text(value: Any) -> bool:
    """Whether `value` holds text PostgreSQL cannot store: NUL, or a lone UTF-16
    surrogate (both of which JSON allows). Iterative, no call per value: bulk bodies hold
    100,000 strings."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            if is_unstorable_text(item):
                return True
        elif kind is dict:
            stack.extend(item.keys())
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
    return False


def unstorable_text_at(value: Any) -> tuple[str | int, ...]:
    """The path to the first unstorable text in `value` (which has some)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str) and is_unstorable_text(item):
            return path
        if isinstance(item, dict):
            stack.extend((key, path) for key in item)
            stack.extend((child, (*path, key)) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(item))
    return ()


_SURROGATE = re.compile("[\ud800-\udfff]")


def _iso_text(value: Any) -> Any:
    # Pydantic would read `0.5` as a Unix timestamp; a query parameter documented as an
    # ISO 8601 date-time must look like one.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE_PREFIX.match(value):
        raise ValueError("expected an ISO 8601 date-time such as 2026-11-25T09:00:00+08:00")
    return value


_ISO_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}")

IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]


def _iso_date_text(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DAY.match(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2200, 12, 31)


def _service_day(value: date) -> date:
    # Metrics reach back 12 months and rules up to 36,600 days from an as_of; near year 1
    # that leaves the calendar, and far-off days are typos anyway.
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        # "中文 / English", as the import report splits our own validators' messages.
        raise ValueError(
            f"日期须在 {EARLIEST_DAY} 至 {LATEST_DAY} 之间 / "
            f"the date must be between {EARLIEST_DAY} and {LATEST_DAY}"
        )
    return value


# The same days as a pattern, so that clients and generators know the range (JSON Schema
# has no bounds for dates): years 1900–2200 with real months and days.
SERVICE_DAY_PATTERN = (
    r"^(?:19[0-9]{2}|2[01][0-9]{2}|2200)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
)

IsoDate = Annotated[
    date,
    BeforeValidator(_iso_date_text),
    AfterValidator(_service_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": SERVICE_DAY_PATTERN}),
]
"""A day as `YYYY-MM-DD` from 1900-01-01 to 2200-12-31: every `as_of` and every stored
day of a customer (`cooperation_since`) is one, so date arithmetic never leaves the
calendar."""


def _iso_string_only(value: Any) -> Any:
    # Pydantic reads numbers as Unix timestamps; clients must send ISO 8601 text.
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE_PREFIX.match(value):
        raise ValueError("expected an ISO 8601 date (2026-11-20) or date-time")
    return value


def _plausible_year(value: date) -> date:
    # Far-off years are typos, and near year 1 a time-zone shift leaves the datetime range.
    if not 1900 <= value.year <= 2999:
        raise ValueError("the year must be between 1900 and 2999")
    return value


# Years 1900–2999, as `_plausible_year` holds them.
_PLAUSIBLE_YEAR_PATTERN = r"^(?:19|2[0-9])[0-9]{2}-"

DateOrDateTime = Annotated[
    date | datetime,
    BeforeValidator(_iso_string_only),
    AfterValidator(_plausible_year),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date", "pattern": _PLAUSIBLE_YEAR_PATTERN},
                {"type": "string", "format": "date-time", "pattern": _PLAUSIBLE_YEAR_PATTERN},
            ]
        }
    ),
]


# Money and other decimals travel as JSON strings in answers (exact, never a binary
# float) and are taken as a number or such a string. The string forms, documented:
DECIMAL_TEXT = r"^-?[0-9]+(\.[0-9]+)?$"
MONEY_TEXT = r"^[0-9]+(\.[0-9]{1,2})?$"


_DECIMAL = re.compile(DECIMAL_TEXT)
_MONEY = re.compile(MONEY_TEXT)


def _money_text(value: Any) -> Any:
    """A string is money exactly when it matches MONEY_TEXT, as the spec says: plain
    notation (no exponent, no `+`, no spaces), not negative, at most 2 decimals, each
    refused with the error that names it. Numbers go on to the Decimal checks."""
    if not isinstance(value, str) or _MONEY.fullmatch(value):
        return value
    if not _DECIMAL.fullmatch(value):
        raise PydanticCustomError("decimal_parsing", "Input should be a valid decimal")
    if value.startswith("-"):
        raise PydanticCustomError(
            "greater_than_equal", "Input should be greater than or equal to 0", {"ge": 0}
        )
    raise PydanticCustomError(
        "decimal_max_places",
        "Decimal input should have no more than 2 decimal places",
        {"decimal_places": 2},
    )


MoneyIn = Annotated[
    Decimal,
    BeforeValidator(_money_text),
    Field(max_digits=18, decimal_places=2, ge=0),
    WithJsonSchema(
        {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": MONEY_TEXT}]},
        mode="validation",
    ),
]
"""Money a request sends: CNY, not negative, at most 2 decimals."""
DecimalOut = Annotated[
    Decimal, WithJsonSchema({"type": "string", "pattern": DECIMAL_TEXT}, mode="serialization")
]
"""A decimal an answer gives, as a string ("12500000.00")."""
