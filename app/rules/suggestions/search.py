"""Searching thresholds: exhaustively over a grid when there are at most three, else by
coordinate descent with restarts; and five-fold cross-validation of that search.

Deterministic: the same table gives the same answer (the restarts and the folds come
from a fixed seed; of candidates the samples cannot tell apart the roundest wins, then
the one nearest the thresholds as they stand). The
work is bounded by a budget of candidate sets × samples scored, not by a clock, so a
busy machine is slower but never answers differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from app.rules.suggestions.table import Ints, Problem, SampleTable, Scores

Objective = Literal["accuracy", "macro_f1"]
Method = Literal["exhaustive", "coordinate_descent"]

EXHAUSTIVE_UP_TO: Final = 3
"""Thresholds searched exhaustively at most; beyond, coordinate descent."""
EXHAUSTIVE_CELLS: Final = 30_000_000
"""Candidate sets × samples of an exhaustive search at most: beyond that each
threshold's candidates are spread evenly over fewer values, and coordinate descent over
every candidate refines the best set found."""
RESTARTS: Final = 4
"""Random starting points of coordinate descent besides the thresholds as they stand."""
MAX_SWEEPS: Final = 25
BUDGET_CELLS: Final = 400_000_000
"""Candidate sets × samples one search scores at most."""
FOLDS: Final = 5
SEED: Final = 20261207
_EPSILON: Final = 1e-12


@dataclass(frozen=True)
class Found:
    """The best candidate set a search found (candidate indices of its problem)."""

    row: Ints
    score: float
    start_score: float
    method: Method
    evaluations: int  # candidate sets scored
    budget_exhausted: bool


def descend(
    problem: Problem,
    start: Ints,
    objective: Objective,
    budget: int = BUDGET_CELLS,
    max_sweeps: int = MAX_SWEEPS,
) -> tuple[Ints, float]:
    """Coordinate descent from `start`: move one threshold at a time to its best
    candidate (the others fixed), sweep after sweep until none improves. Never ends below
    the start's score: a threshold moves when that scores strictly better, or as well but
    to a rounder value (the samples cannot tell them apart; people prefer 100 to 93), to
    the roundest of the best candidates, then the nearest to where it stands."""
    current = start.copy()
    per_class = objective == "macro_f1"
    score = float(problem.score(current[None, :], (), per_class).of(objective)[0])
    for _ in range(max_sweeps):
        improved = False
        for slot in range(len(current)):
            if problem.cells >= budget:
                return current, score
            count = len(problem.candidates[slot])
            rows = np.repeat(current[None, :], count, axis=0)
            rows[:, slot] = np.arange(count)
            scores = problem.score(rows, (slot,), per_class).of(objective)
            best = float(scores.max())
            ties = np.flatnonzero(scores >= best - _EPSILON)
            # The roundest of the best, then the nearest to where it stands.
            round_ = problem.roundness[slot][ties]
            rounder = round_.max() > problem.roundness[slot][current[slot]]
            if best > score + _EPSILON or (best >= score - _EPSILON and rounder):
                ties = ties[round_ == round_.max()]
                current[slot] = int(ties[np.argmin(np.abs(ties - current[slot]))])
                score = max(score, best)
                improved = True
        if not improved:
            break
    return current, score


def exhaustive(problem: Problem, objective: Objective) -> tuple[Ints, float, bool]:
    """The best of every combination of candidates (each threshold's candidates spread
    over fewer values when combinations × samples would exceed EXHAUSTIVE_CELLS; the
    third value says whether they were). Ties go to the roundest set, then the one
    nearest the start."""
    grids, thinned = _grids(problem)
    if not grids:  # no threshold: the one empty set
        empty = problem.start.copy()
        score = problem.score(empty[None, :], (), objective == "macro_f1").of(objective)
        return empty, float(score[0]), False
    mesh = np.meshgrid(*grids, indexing="ij")
    rows = np.stack([axis.ravel() for axis in mesh], axis=1).astype(np.int64)
    scores = problem.score(rows, range(len(grids)), objective == "macro_f1").of(objective)
    best = float(scores.max())
    ties = rows[scores >= best - _EPSILON]
    round_ = np.sum([problem.roundness[s][ties[:, s]] for s in range(len(grids))], axis=0)
    ties = ties[round_ == round_.max()]
    sizes = np.array([len(c) for c in problem.candidates], dtype=np.float64)
    distance = (np.abs(ties - problem.start[None, :]) / sizes).sum(axis=1)
    return ties[int(np.argmin(distance))].copy(), best, thinned


def _grids(problem: Problem) -> tuple[list[Ints], bool]:
    """Candidate indices per threshold whose product times the samples stays within
    EXHAUSTIVE_CELLS, the start's index always among them; smaller candidate lists kept
    whole first."""
    sizes = [len(c) for c in problem.candidates]
    kept = [0] * len(sizes)
    room = EXHAUSTIVE_CELLS / max(problem.size, 1)
    for left, slot in enumerate(sorted(range(len(sizes)), key=lambda s: sizes[s])):
        kept[slot] = max(2, min(sizes[slot], int(room ** (1 / (len(sizes) - left)))))
        room /= kept[slot]
    grids = []
    for slot, size in enumerate(sizes):
        spread = np.round(np.linspace(0, size - 1, min(kept[slot], size))).astype(np.int64)
        grids.append(np.union1d(spread, [problem.start[slot]]))
    return grids, any(k < s for k, s in zip(kept, sizes, strict=True))


def search(problem: Problem, objective: Objective, seed: int = SEED) -> Found:
    """The best thresholds for a problem: exhaustive (then refined by descent over every
    candidate) when there are at most three, else coordinate descent from the thresholds
    as they stand and from RESTARTS random starts. Never below the start's score."""
    start = problem.start
    per_class = objective == "macro_f1"
    start_score = float(problem.score(start[None, :], (), per_class).of(objective)[0])
    starts: list[Ints] = [start]
    method: Method = "coordinate_descent"
    if len(start) <= EXHAUSTIVE_UP_TO:
        method = "exhaustive"
        row, _, _ = exhaustive(problem, objective)
        starts = [row]
    else:
        rng = np.random.default_rng(seed)
        for _ in range(RESTARTS):
            random = np.array([rng.integers(len(c)) for c in problem.candidates], np.int64)
            starts.append(_valid(problem, random))
    best_row, best = start, start_score
    for begin in starts:
        row, score = descend(problem, begin, objective)
        if score > best + _EPSILON:
            best_row, best = row, score
    return Found(
        row=best_row,
        score=best,
        start_score=start_score,
        method=method,
        evaluations=problem.cells // max(problem.size, 1),
        budget_exhausted=problem.cells >= BUDGET_CELLS,
    )


def _valid(problem: Problem, row: Ints) -> Ints:
    """A random start whose betweens keep low ≤ high (else those bounds as they stand)."""
    for low, high, allowed in problem.pairs:
        if not allowed[row[low], row[high]]:
            row[low], row[high] = problem.start[low], problem.start[high]
    return row


def folds(table: SampleTable, count: int = FOLDS, seed: int = SEED) -> list[Ints]:
    """Sample indices in `count` folds, each expected category dealt evenly over them
    (stratified), shuffled by a fixed seed."""
    rng = np.random.default_rng(seed)
    dealt: list[list[int]] = [[] for _ in range(count)]
    offset = 0
    for label in np.unique(table.expected):
        members = rng.permutation(np.flatnonzero(table.expected == label))
        for i, sample in enumerate(members):
            dealt[(offset + i) % count].append(int(sample))
        offset += len(members)
    return [np.array(sorted(fold), dtype=np.int64) for fold in dealt]


@dataclass(frozen=True)
class CrossValidation:
    """The search judged on samples it did not see: each fold held out once while the
    thresholds are searched on the others, its samples then classified with them."""

    accuracy: float  # pooled over every held-out sample
    macro_f1: float
    fold_accuracy: list[float]


def cross_validate(table: SampleTable, objective: Objective) -> CrossValidation:
    """Five-fold cross-validation of `search` (the same folds for the same table)."""
    everyone = np.arange(table.size, dtype=np.int64)
    pooled: list[Scores] = []
    for held_out in folds(table):
        training = np.setdiff1d(everyone, held_out)
        trained = Problem(table, training)
        found = search(trained, objective)
        chosen = [[value] for value in trained.values(found.row)]
        tested = Problem(table, held_out, chosen)
        pooled.append(tested.score(np.zeros((1, len(chosen)), np.int64), ()))
    total = Scores(
        correct=np.array([sum(int(s.correct[0]) for s in pooled)]),
        true_positive=np.sum([s.true_positive for s in pooled], axis=0),
        predicted=np.sum([s.predicted for s in pooled], axis=0),
        support=np.sum([s.support for s in pooled], axis=0),
        samples=table.size,
    )
    return CrossValidation(
        accuracy=float(total.accuracy()[0]),
        macro_f1=float(total.macro_f1()[0]),
        fold_accuracy=[float(s.accuracy()[0]) for s in pooled],
    )
