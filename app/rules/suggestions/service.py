"""Threshold suggestions (阈值建议): a version's number and money thresholds searched
against labelled samples, its rules' structure kept, with figures an editor can trust —
cross-validated accuracy beside the training accuracy, recall per category before and
after, and what the proposal would do to every customer of the tenant — and, on request,
saved as the next draft.

The samples' values are read once, as of the day, from the facts layer; the search runs
on arrays of them in a worker thread (CPU work stays off the event loop), bounded by a
budget of work rather than a clock, so the same input always gives the same answer.
"""

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import FieldCatalog
from app.categories.service import get_tree
from app.core.auth import Principal
from app.core.errors import InvalidInput
from app.core.i18n import Text
from app.customers.repository import ids_by_code
from app.facts.cut_points import evaluator_for
from app.facts.values import customer_values
from app.models.rules import RulesetVersion
from app.rules import service, trial
from app.rules.analysis import RulesetDiff, diff
from app.rules.language.evaluate import Evaluator
from app.rules.suggestions.search import (
    FOLDS,
    CrossValidation,
    Found,
    Objective,
    cross_validate,
    search,
)
from app.rules.suggestions.table import Problem, Scores, sample_table
from app.rules.suggestions.thresholds import (
    Number,
    Threshold,
    leaf_values,
    proposed_body,
    tunable_thresholds,
    with_thresholds,
)

MIN_SAMPLES: Final = 2 * FOLDS
"""Known samples needed at least: two in each of the five folds."""


@dataclass(frozen=True)
class Fit:
    accuracy: float
    macro_f1: float


@dataclass(frozen=True)
class ClassChange:
    """A category's figures on the samples under version n and under the proposal."""

    support: int
    recall_before: float | None
    recall_after: float | None
    precision_before: float | None
    precision_after: float | None


@dataclass(frozen=True)
class Move:
    """One threshold, from version n to the proposal."""

    threshold: Threshold
    after: Number
    candidates: int

    @property
    def changed(self) -> bool:
        return self.after != self.threshold.value


@dataclass(frozen=True)
class Searched:
    """What the search (in a worker thread) hands back."""

    found: Found
    values: list[Number]
    candidates: list[int]
    before: Scores
    after: Scores
    cross_validation: CrossValidation
    classes: tuple[str, ...]


@dataclass(frozen=True)
class Suggestion:
    """Proposed thresholds for a version and everything said about them."""

    version: int
    objective: Objective
    samples: int
    unknown_codes: list[str]
    training_before: Fit
    training_after: Fit
    cross_validation: CrossValidation
    moves: list[Move]
    body: dict[str, Any]
    diff: RulesetDiff
    per_class: dict[str, ClassChange]
    tenant: trial.Preview
    collect: bool
    found: Found
    draft: RulesetVersion | None


async def suggest(
    session: AsyncSession,
    principal: Principal,
    ruleset_id: uuid.UUID,
    number: int,
    samples: list[tuple[str, str]],
    samples_loc: str,
    as_of: date,
    objective: Objective,
    fields: list[str] | None,
    create_draft: bool,
) -> Suggestion:
    """Search version `number`'s thresholds (of `fields`, default all) on labelled
    samples; with `create_draft`, save the proposal as the next version (a draft, audited
    as any other). Bad input is a 422 before anything is written."""
    ruleset = await service.get_ruleset(session, principal, ruleset_id)
    version = await service.get_version(session, principal, ruleset.id, number)
    tree = await get_tree(session, principal, ruleset.tree_id)
    read = await service.read_for_tree(session, principal, tree, version.body)
    # With the cut points of its scores, if it has any (the tree's latest run's).
    evaluator = await evaluator_for(
        session, principal.tenant_id, tree.id, read.rules, as_of, read.catalog
    )
    thresholds = _chosen(tunable_thresholds(evaluator, read.catalog), fields, read.catalog)
    known, unknown, ids = await _known(session, principal, samples, read.codes, samples_loc)
    codes = [code for code, _ in known]
    values = await customer_values(
        session, principal.tenant_id, list(set(ids.values())), as_of, read.catalog
    )
    classes = sorted(read.codes | {read.rules.default_category})
    searched = await asyncio.to_thread(
        _search,
        evaluator,
        read.catalog,
        thresholds,
        [values[ids[code]] for code in codes],
        [expected for _, expected in known],
        classes,
        as_of,
        objective,
    )
    proposed = with_thresholds(read.rules, leaf_values(thresholds, searched.values))
    body = proposed_body(version.body, read.rules, proposed, read.catalog)
    # Read back as any new version is: the body the draft would hold, validated.
    proposal = await service.read_for_tree(session, principal, tree, body)
    tenant = await trial.preview(
        session, principal.tenant_id, tree.id, proposal.rules, read.catalog, as_of, None
    )
    draft = None
    if create_draft:
        note = _note(number, len(known), objective, searched.cross_validation.accuracy)
        draft = await service.create_version(session, principal, ruleset.id, body, note)
    return Suggestion(
        version=number,
        objective=objective,
        samples=len(known),
        unknown_codes=unknown,
        training_before=_fit(searched.before),
        training_after=_fit(searched.after),
        cross_validation=searched.cross_validation,
        moves=[
            Move(t, v, c)
            for t, v, c in zip(thresholds, searched.values, searched.candidates, strict=True)
        ],
        body=body,
        diff=diff(proposal.rules, read.rules),
        per_class=_per_class(searched),
        tenant=tenant,
        collect=read.rules.hit_policy == "collect",
        found=searched.found,
        draft=draft,
    )


def _chosen(
    thresholds: list[Threshold], fields: list[str] | None, catalog: FieldCatalog
) -> list[Threshold]:
    """The thresholds of `fields` (all when None); 422 for a field that is unknown or
    has no number threshold in the version, or when there is nothing to tune."""
    if fields is None:
        if not thresholds:
            raise _invalid(
                ["body"],
                "no_threshold",
                Text(
                    "该版本没有可调整的数值或金额阈值",
                    "The version has no number or money threshold to tune",
                ),
            )
        return thresholds
    errors = []
    tuned = {t.field for t in thresholds}
    for index, key in enumerate(fields):
        if catalog.get(key) is None:
            errors.append((index, "unknown_field", "没有这个字段", "no such field"))
        elif key not in tuned:
            errors.append(
                (
                    index,
                    "no_threshold",
                    "该版本中没有此字段的数值阈值",
                    "the version has no number threshold on this field",
                )
            )
    if errors:
        raise InvalidInput(
            Text("fields 中有无法调整的字段", "Some fields cannot be tuned"),
            errors=[
                {"loc": ["body", "fields", i], "msg": en, "type": kind} for i, kind, _, en in errors
            ],
        )
    wanted = set(fields)
    return [t for t in thresholds if t.field in wanted]


async def _known(
    session: AsyncSession,
    principal: Principal,
    samples: list[tuple[str, str]],
    categories: set[str],
    loc: str,
) -> tuple[list[tuple[str, str]], list[str], dict[str, uuid.UUID]]:
    """The samples whose customer exists, in a canonical order (so the same samples in
    any order give the same answer), the unknown codes, and the customers' ids; 422 for
    an expected category the tree does not have, or too few known samples for five
    folds."""
    strange = sorted({expected for _, expected in samples} - categories)
    if strange:
        listed = ", ".join(strange)
        raise _invalid(
            ["body", loc],
            "unknown_category",
            Text(
                f"期望分类不在该分类维度中:{listed}",
                f"Expected categories not in the tree: {listed}",
            ),
        )
    ids = await ids_by_code(session, principal.tenant_id, {code for code, _ in samples})
    known = sorted((code, expected) for code, expected in samples if code in ids)
    if len(known) < MIN_SAMPLES:
        raise _invalid(
            ["body", loc],
            "too_few_samples",
            Text(
                f"已知客户的样本只有 {len(known)} 个;{FOLDS} 折交叉验证至少需要 {MIN_SAMPLES} 个",
                f"{len(known)} samples of known customers; {FOLDS}-fold cross-validation "
                f"needs at least {MIN_SAMPLES}",
            ),
        )
    return known, sorted({code for code, _ in samples if code not in ids}), ids


def _invalid(loc: list[str | int], kind: str, text: Text) -> InvalidInput:
    return InvalidInput(text, errors=[{"loc": loc, "msg": text.en, "type": kind}])


def _search(
    evaluator: Evaluator,
    catalog: FieldCatalog,
    thresholds: Sequence[Threshold],
    values: Sequence[dict[str, Any]],
    expected: Sequence[str],
    classes: Sequence[str],
    as_of: date,
    objective: Objective,
) -> Searched:
    """The CPU part, run in a worker thread: the table, the search on every sample, its
    cross-validation, and the figures before and after."""
    table = sample_table(evaluator, catalog, thresholds, values, expected, classes, as_of)
    problem = Problem(table, np.arange(table.size, dtype=np.int64))
    found = search(problem, objective)
    rows = np.stack([problem.start, found.row])
    scores = problem.score(rows, range(len(thresholds)))
    before, after = (_row(scores, i) for i in (0, 1))
    return Searched(
        found=found,
        values=problem.values(found.row),
        candidates=[len(c) for c in problem.candidates],
        before=before,
        after=after,
        cross_validation=cross_validate(table, objective),
        classes=table.classes,
    )


def _row(scores: Scores, index: int) -> Scores:
    return Scores(
        correct=scores.correct[index : index + 1],
        true_positive=scores.true_positive[index : index + 1],
        predicted=scores.predicted[index : index + 1],
        support=scores.support,
        samples=scores.samples,
    )


def _fit(scores: Scores) -> Fit:
    return Fit(round(float(scores.accuracy()[0]), 4), round(float(scores.macro_f1()[0]), 4))


def _per_class(searched: Searched) -> dict[str, ClassChange]:
    """Every category expected or predicted (before or after), as a backtest lists them."""
    before, after = searched.before, searched.after
    figures = {}
    for index, code in enumerate(searched.classes):
        support = int(before.support[index])
        predicted = (int(before.predicted[0, index]), int(after.predicted[0, index]))
        if not support and not any(predicted):
            continue
        hits = (int(before.true_positive[0, index]), int(after.true_positive[0, index]))
        figures[code] = ClassChange(
            support=support,
            recall_before=_share(hits[0], support),
            recall_after=_share(hits[1], support),
            precision_before=_share(hits[0], predicted[0]),
            precision_after=_share(hits[1], predicted[1]),
        )
    return figures


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _note(number: int, samples: int, objective: str, cross_validated: float) -> str:
    return Text(
        f"阈值建议:基于版本 {number} 与 {samples} 个样本(目标 {objective},"
        f"交叉验证准确率 {cross_validated:.1%})",
        f"Suggested thresholds: from version {number} and {samples} samples (objective "
        f"{objective}, cross-validated accuracy {cross_validated:.1%})",
    ).get()
