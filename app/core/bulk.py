"""Bulk endpoints: `{"items": [...]}` of up to 10,000; good items kept, bad ones reported.

Items are validated one by one, so one bad item costs only itself. The answer counts
what happened and lists, for every failed item, its index and what was wrong. When no
item could be kept the endpoint answers a 422 problem with the same per-item errors
(`refuse_if_nothing_kept`), so a client that sent only garbage cannot mistake the
response for success; other callers (imports) take the per-item errors as they are.
"""

import functools
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from app.core.errors import InvalidInput, ValidationIssue
from app.core.i18n import Text
from app.core.validation_messages import validation_message

MAX_ITEMS = 10_000
M = TypeVar("M", bound=BaseModel)
# Item models of bulk requests; the OpenAPI spec gets their schemas as components.
ITEM_MODELS: list[type[BaseModel]] = []


class ItemError(BaseModel):
    """Why one item of a bulk request was not kept."""

    index: int = Field(description="Position of the item in `items`")
    errors: list[ValidationIssue] = Field(
        description="What was wrong with the item: `loc` within the item",
        examples=[
            [
                {
                    "loc": ["amount"],
                    "msg": "Input should be a valid decimal",
                    "type": "decimal_parsing",
                }
            ]
        ],
    )


class BulkResult(BaseModel):
    """What a bulk request did."""

    received: int
    created: int
    updated: int
    failed: int
    errors: list[ItemError]

    @property
    def nothing_kept(self) -> bool:
        """Items were sent and every one of them failed."""
        return self.received > 0 and self.failed == self.received


def bulk_items(item: type[BaseModel]) -> Any:
    """The field of a bulk request's `items` (1–10,000), documented as a list of `item`:

        class OrderBulk(RequestBody):
            items: Annotated[list[dict[str, Any]], bulk_items(OrderIn)]

    Items are typed in the schema but validated one by one at run time
    (`validate_items`), so the model takes them as plain objects.
    """
    ITEM_MODELS.append(item)
    return Field(
        min_length=1,
        max_length=MAX_ITEMS,
        json_schema_extra={"items": {"$ref": f"#/components/schemas/{item.__name__}"}},
    )


def validate_items(
    items: Sequence[dict[str, Any]], item: type[M]
) -> tuple[list[tuple[int, M]], list[ItemError]]:
    """Split items into (index, model) pairs that validate and errors for the rest.

    The whole list is validated in one call (pydantic's loop runs in Rust); only when
    some items fail are the others validated again, without the failures.
    """
    adapter = _list_adapter(item)
    # Unstorable text in an item fails that item (not the whole request).
    context = {"bulk_item": True}
    try:
        return list(enumerate(adapter.validate_python(items, context=context))), []
    except ValidationError as exc:
        by_index: dict[int, list[ValidationIssue]] = {}
        for error in exc.errors(include_url=False, include_input=False):
            index, *loc = error["loc"]
            by_index.setdefault(int(index), []).append(
                ValidationIssue(loc=loc, msg=validation_message(error), type=error["type"])
            )
    good_indices = [i for i in range(len(items)) if i not in by_index]
    good = adapter.validate_python([items[i] for i in good_indices], context=context)
    bad = [ItemError(index=i, errors=errors) for i, errors in sorted(by_index.items())]
    return list(zip(good_indices, good, strict=True)), bad


@functools.cache
def _list_adapter(item: type[M]) -> TypeAdapter[list[M]]:
    # A list of the item model given at run time: mypy wants a type known statically.
    return TypeAdapter(list[item])  # type: ignore[valid-type]


def item_error(index: int, field: str, message: Text, kind: str) -> ItemError:
    """An error about one field of one item, in the caller's language."""
    return ItemError(
        index=index, errors=[ValidationIssue(loc=[field], msg=message.get(), type=kind)]
    )


def finish(received: int, created: int, updated: int, errors: Iterable[ItemError]) -> BulkResult:
    """What a bulk write did: the counts and every failed item's errors, by index."""
    errors = sorted(errors, key=lambda e: e.index)
    return BulkResult(
        received=received, created=created, updated=updated, failed=len(errors), errors=errors
    )


def refuse_if_nothing_kept(result: BulkResult) -> BulkResult:
    """The endpoint's answer: `result`, or a 422 problem listing every item's errors
    (at `body.items.<index>.…`) when items were sent and none could be kept."""
    if not result.nothing_kept:
        return result
    raise InvalidInput(
        Text(
            f"全部 {result.received} 条均无效,未保存任何数据",
            f"All {result.received} items are invalid; nothing was saved",
        ),
        errors=[
            detail.under("body", "items", e.index) for e in result.errors for detail in e.errors
        ],
    )
