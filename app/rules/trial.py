"""Trying a ruleset version before it matters: backtest against labelled samples, and a
preview of the distribution and transitions it would produce. Nothing is written."""

import uuid
from collections import Counter, defaultdict
from datetime import date
from typing import Any

from sqlalchemy import and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import FieldCatalog
from app.core.errors import InvalidInput
from app.core.i18n import Text, current_locale
from app.customers.repository import ids_by_code
from app.facts.values import customer_values, materialise_values
from app.models import Assignment, Category
from app.rules.language.compile_sql import compile_condition, compile_ruleset
from app.rules.language.evaluate import Evaluator
from app.rules.language.explain import explain
from app.rules.language.tree import Condition, Ruleset, iter_leaves


async def backtest(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    ruleset: Ruleset,
    catalog: FieldCatalog,
    samples: list[tuple[str, str]],
    as_of: date,
    min_accuracy: float,
) -> dict[str, Any]:
    """Accuracy, confusion matrix, per-class precision/recall and mismatches with rationale."""
    ids = await ids_by_code(session, tenant_id, {code for code, _ in samples})
    unknown = sorted({code for code, _ in samples if code not in ids})
    known = [(code, expected) for code, expected in samples if code in ids]
    if not known:
        raise InvalidInput(
            Text("样本中的客户编号均不存在", "None of the sample customer codes exist"),
            errors=[{"loc": ["body", "samples"], "msg": "no known customer", "type": "unknown"}],
        )
    values = await customer_values(session, tenant_id, list(set(ids.values())), as_of, catalog)
    evaluator = Evaluator(ruleset, catalog)
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    mismatches = []
    for code, expected in known:
        evaluation = evaluator.evaluate(values[ids[code]], as_of)
        predicted = evaluation.category
        confusion[expected][predicted] += 1
        if expected not in evaluation.categories:
            rationale = explain(evaluation, catalog, current_locale.get()).to_dict()
            mismatches.append(
                {"customer_code": code, "expected": expected, "actual": predicted,
                 "rule": rationale["rule"], "rationale": rationale}
            )  # fmt: skip
    correct = len(known) - len(mismatches)
    accuracy = correct / len(known)
    labels = sorted({e for e, _ in known} | {p for row in confusion.values() for p in row})
    per_class = {}
    for label in labels:
        true_positive = confusion[label][label]
        predicted = sum(row[label] for row in confusion.values())
        actual = sum(confusion[label].values())
        per_class[label] = {
            "precision": round(true_positive / predicted, 4) if predicted else None,
            "recall": round(true_positive / actual, 4) if actual else None,
            "support": actual,
        }
    return {
        "samples": len(known),
        "correct": correct,
        "accuracy": round(accuracy, 4),
        "min_accuracy": min_accuracy,
        "passed": accuracy >= min_accuracy,
        "confusion_matrix": {e: dict(row) for e, row in sorted(confusion.items())},
        "per_class": per_class,
        "mismatches": mismatches,
        "unknown_codes": unknown,
    }


async def preview(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    tree_id: uuid.UUID,
    ruleset: Ruleset,
    catalog: FieldCatalog,
    as_of: date,
    scope: Condition | list[uuid.UUID] | None,
) -> dict[str, Any]:
    """Distribution and transitions (current → new category) over the scope, in SQL.

    The values the ruleset and the scope read are computed once into a temporary table
    (the activity aggregated in one statement planned for many customers); the ruleset,
    the scope and the counts then read that table.
    """
    fields = {leaf.field for rule in ruleset.rules for leaf in iter_leaves(rule.when)}
    if scope is not None and not isinstance(scope, list):
        fields |= {leaf.field for leaf in iter_leaves(scope)}
    conn = await session.connection()
    ids = scope if isinstance(scope, list) else None
    values = await materialise_values(conn, tenant_id, as_of, catalog, sorted(fields), ids)
    columns = {key: values.c[key] for key in fields}
    compiled = compile_ruleset(ruleset, columns, as_of, catalog)
    statement = select(
        values.c.customer_id.label("customer_id"), compiled.category().label("category")
    )
    if scope is not None and not isinstance(scope, list):
        statement = statement.where(compile_condition(scope, columns, as_of, catalog))
    decided = statement.subquery("decided")
    if ruleset.hit_policy == "collect":
        codes = func.unnest(decided.c.category).table_valued("code").render_derived("codes")
        rows = await session.execute(
            select(codes.c.code, func.count())
            .select_from(decided.join(codes, true()))
            .group_by(codes.c.code)
        )
        distribution = dict(rows.all())
        total = await session.scalar(select(func.count()).select_from(decided))
        return _answer(distribution, total or 0, [])
    current = (
        select(Assignment.customer_id, Category.code)
        .join(Category, and_(Category.tenant_id == Assignment.tenant_id,
                             Category.id == Assignment.category_id))
        .where(Assignment.tenant_id == tenant_id, Assignment.tree_id == tree_id)
        .subquery("current")
    )  # fmt: skip
    rows = await session.execute(
        select(current.c.code, decided.c.category, func.count())
        .select_from(decided.outerjoin(current, current.c.customer_id == decided.c.customer_id))
        .group_by(current.c.code, decided.c.category)
    )
    distribution: Counter[str] = Counter()
    transitions = []
    for before, after, count in rows.all():
        distribution[after] += count
        transitions.append({"from": before, "to": after, "count": count,
                            "changed": before != after})  # fmt: skip
    transitions.sort(key=lambda t: (-t["count"], str(t["from"]), t["to"]))
    return _answer(dict(distribution), sum(distribution.values()), transitions)


def _answer(distribution: dict[str, int], total: int, transitions: list[Any]) -> dict[str, Any]:
    return {
        "total": total,
        "distribution": [
            {"category": code, "count": count, "share": round(count / total, 4) if total else 0}
            for code, count in sorted(distribution.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "transitions": transitions,
        "changed": sum(t["count"] for t in transitions if t["changed"]),
    }
