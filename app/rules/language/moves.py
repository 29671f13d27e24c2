"""Why a result moved: the conditions that flipped between two evaluations of a customer
by the same rules, and a sentence ("近6个月订单金额 52.00万元 → 48.00万元,低于 50.00万元;
由 高价值客户 调整为 中价值客户").

The conditions looked at are those of the rules that decided either result: the rule
matched before and the rule matched now (under `collect`, every rule whose match
changed) — the ones a reviewer needs to see why the category changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.catalog import FieldCatalog, FieldDef
from app.core.i18n import Locale
from app.rules.language.evaluate import Evaluation
from app.rules.language.quantiles import Scored, score_field
from app.rules.language.tree import Score
from app.rules.language.words import Words, format_value, words_for

# How a value stands against a threshold, by operator and whether the condition holds.
_STANDING = {
    ("gte", True): "reaches",
    ("gte", False): "below",
    ("gt", True): "above",
    ("gt", False): "not_above",
    ("lte", True): "not_above",
    ("lte", False): "above",
    ("lt", True): "below",
    ("lt", False): "reaches",
}


@dataclass(frozen=True, slots=True)
class Flip:
    """A condition that came out differently for the values before and after."""

    index: int  # the leaf's number across the ruleset
    field: str
    op: str
    threshold: object
    before: object
    after: object
    held_before: bool
    held_after: bool
    score: Score | None = None  # a score leaf's (then before and after are Scored)


@dataclass(frozen=True, slots=True)
class Move:
    """Why a customer's result moved, in words and as the flipped conditions."""

    text: str
    flips: tuple[Flip, ...]
    labels: tuple[str, ...]  # each flipped field's label, in the sentence's language


def flipped(before: Evaluation, after: Evaluation) -> tuple[Flip, ...]:
    """The conditions of the deciding rules whose result differs between the two
    evaluations (of the same rules; scores may be placed among different cut points)."""
    if before.ruleset is not after.ruleset:
        raise ValueError("compare evaluations of the same rules")
    rules = _deciding_rules(before, after)
    found = []
    for leaf in after.evaluator.leaves:
        i = leaf.index
        if leaf.rule_index not in rules or before.results[i] == after.results[i]:
            continue
        found.append(
            Flip(
                i,
                leaf.leaf.field,
                leaf.leaf.op,
                leaf.threshold,
                before.actuals[i],
                after.actuals[i],
                before.results[i],
                after.results[i],
                leaf.leaf.score,
            )
        )
    return tuple(found)


def _deciding_rules(before: Evaluation, after: Evaluation) -> set[int]:
    if after.ruleset.hit_policy == "collect":
        return {
            i
            for i, (b, a) in enumerate(zip(before.rule_matches, after.rule_matches, strict=True))
            if b != a
        }
    return {i for i in (before.rule_index, after.rule_index) if i is not None}


def describe(
    flips: tuple[Flip, ...],
    old_category: str,
    new_category: str,
    catalog: FieldCatalog,
    locale: Locale = "zh-CN",
    versions: tuple[int, int] | None = None,
) -> Move:
    """The sentence: each flipped condition, a changed ruleset version (`versions` old,
    new when they differ), then the move from the old category name to the new one."""
    words = words_for(locale)
    parts = [_said(flip, catalog, words, locale) for flip in flips]
    if versions is not None and versions[0] != versions[1]:
        parts.append(words.rules_changed.format(old=versions[0], new=versions[1]))
    parts.append(words.moved_category.format(old=old_category, new=new_category))
    labels = tuple(label_of(flip, catalog, locale) for flip in flips)
    return Move(words.reasons_separator.join(parts), flips, labels)


def label_of(flip: Flip, catalog: FieldCatalog, locale: Locale) -> str:
    """The flipped field's label in `locale`."""
    definition = catalog.get(flip.field)
    return definition.label(locale) if definition is not None else flip.field


def _said(flip: Flip, catalog: FieldCatalog, words: Words, locale: Locale) -> str:
    definition = catalog.get(flip.field)
    label = label_of(flip, catalog, locale)
    if flip.score is not None and definition is not None:
        return _said_scored(flip, flip.score, definition, label, words, locale)
    before = format_value(definition, flip.before, locale)
    after = format_value(definition, flip.after, locale)
    standing = _STANDING.get((flip.op, flip.held_after))
    if standing is not None:
        template = getattr(words, standing)
        state = template.format(threshold=format_value(definition, flip.threshold, locale))
    else:
        condition = words.conditions.get(flip.op, "{label}")
        described = _fill(condition, flip, label, definition, after, locale)
        state = (words.now_holds if flip.held_after else words.no_longer_holds).format(
            condition=described
        )
    return words.moved_value.format(label=label, before=before, after=after, state=state)


def _said_scored(
    flip: Flip, score: Score, definition: FieldDef, label: str, words: Words, locale: Locale
) -> str:
    """A score that flipped: the values, then the scores ("近12个月交易金额 200.00万元 →
    200.00万元,近12个月交易金额5分位 3 → 2": the value may stay while others move)."""

    def value(scored: object) -> str:
        return format_value(
            definition, scored.value if isinstance(scored, Scored) else None, locale
        )

    def group(scored: object) -> str:
        return str(int(scored)) if isinstance(scored, Scored) else words.no_data

    state = (
        f"{score_field(definition, score).label(locale)} {group(flip.before)} → {group(flip.after)}"
    )
    return words.moved_value.format(
        label=label, before=value(flip.before), after=value(flip.after), state=state
    )


def _fill(
    template: str,
    flip: Flip,
    label: str,
    definition: FieldDef | None,
    after: str,
    locale: Locale,
) -> str:
    threshold = flip.threshold
    low = high = days = ""
    if isinstance(threshold, tuple) and len(threshold) == 2:
        low = format_value(definition, threshold[0], locale)
        high = format_value(definition, threshold[1], locale)
    if isinstance(threshold, int):
        days = str(threshold)
    said = format_value(definition, threshold, locale)
    return template.format(label=label, actual=after, threshold=said, low=low, high=high, days=days)
