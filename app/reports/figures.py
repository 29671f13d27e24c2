"""The arithmetic of reports, kept apart from queries and rendering: shares, percentage
points, cross-tab totals, and the segments a cross-tab cell names (seed 000)."""

import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TypeVar

from app.core.i18n import Text
from app.models import Category, RunCategory
from app.reports.schemas import (
    CategoryLabel,
    CategoryShare,
    Crosstab,
    CrosstabAxis,
    CrosstabHighlight,
)

UNCLASSIFIED = Text("未分类", "Not classified")
# Seed 000: 潜力客户(中价值 + 高活跃): 市场部推送新品试用活动.
POTENTIAL = Text("潜力客户(中价值 + 高活跃)", "Potential (medium value + highly active)")
_SEGMENTS = ((("value", "MEDIUM"), ("activity", "HIGH"), POTENTIAL),)

K = TypeVar("K", bound=Hashable)


def share(count: int, of: int) -> float:
    return round(count / of, 4) if of else 0.0


def change_pp(count: int, of: int, before: int | None, before_of: int) -> float | None:
    """The change of a share in percentage points, from the exact fractions."""
    if before is None:
        return None
    now = count / of if of else 0.0
    then = before / before_of if before_of else 0.0
    return round((now - then) * 100, 2)


def unclassified() -> CategoryLabel:
    return CategoryLabel(id=None, code=None, name=UNCLASSIFIED.get(), path=[])


def of_run(category: RunCategory) -> CategoryLabel:
    """A category as a run recorded it."""
    return CategoryLabel(
        id=category.category_id, code=category.code, name=category.name, path=list(category.path)
    )


def of_tree(categories: Sequence[Category]) -> dict[uuid.UUID, CategoryLabel]:
    """Labels of a tree's categories now, by id (paths as codes)."""
    codes = {c.id: c.code for c in categories}
    return {
        c.id: CategoryLabel(
            id=c.id, code=c.code, name=c.name, path=[codes.get(i, "?") for i in c.path]
        )
        for c in categories
    }


def shares(
    labels: Sequence[tuple[K, CategoryLabel]],
    counts: Mapping[K, int],
    customers: int,
    previous: Mapping[K, int] | None,
    previous_customers: int,
) -> list[CategoryShare]:
    """A category share per label, with the previous share and the change in pp."""
    out = []
    for key, label in labels:
        count = counts.get(key, 0)
        now = share(count, customers)
        before_count = previous.get(key, 0) if previous is not None else None
        before = share(before_count, previous_customers) if before_count is not None else None
        out.append(
            CategoryShare(
                category=label,
                count=count,
                share=now,
                previous_count=before_count,
                previous_share=before,
                change_pp=change_pp(count, customers, before_count, previous_customers),
            )
        )
    return out


def crosstab(
    rows: CrosstabAxis,
    cols: CrosstabAxis,
    row_keys: Sequence[K],
    col_keys: Sequence[K],
    counts: Mapping[tuple[K, K], int],
    total: int,
) -> Crosstab:
    """The matrix with row and column totals, and its named segments highlighted."""
    cells = [[counts.get((r, c), 0) for c in col_keys] for r in row_keys]
    crossed = Crosstab(
        rows=rows,
        cols=cols,
        cells=cells,
        row_totals=[sum(line) for line in cells],
        col_totals=[sum(line[j] for line in cells) for j in range(len(col_keys))],
        total=total,
        highlights=[],
    )
    crossed.highlights = highlights(crossed)
    return crossed


def highlights(table: Crosstab) -> list[CrosstabHighlight]:
    """Cells that seed 000 names, when the value and activity trees are crossed."""
    found = []
    for (key_a, code_a), (key_b, code_b), label in _SEGMENTS:
        for first, second, transpose in (
            (table.rows, table.cols, False),
            (table.cols, table.rows, True),
        ):
            if (first.key, second.key) != (key_a, key_b):
                continue
            i = _index(first.categories, code_a)
            j = _index(second.categories, code_b)
            if i is None or j is None:
                continue
            row, col = (j, i) if transpose else (i, j)
            found.append(
                CrosstabHighlight(row=row, col=col, label=label.get(), count=table.cells[row][col])
            )
    return found


def _index(labels: Sequence[CategoryLabel], code: str) -> int | None:
    return next((i for i, label in enumerate(labels) if label.code == code), None)


def expand(entry: int, multi: bool, slots_in: Callable[[int], list[int]]) -> list[int]:
    """The slots an outcome entry stands for: itself, or a multi-assign tree's mask."""
    return slots_in(entry) if multi else [entry]
