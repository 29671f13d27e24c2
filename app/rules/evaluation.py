"""Evaluating a ruleset body for values typed in by hand (rule editors)."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import FieldCatalog
from app.core.auth import Principal
from app.core.errors import InvalidInput
from app.core.i18n import Text, current_locale
from app.facts.conditions import read_ruleset
from app.facts.cut_points import evaluator_for
from app.facts.fields import tenant_catalog
from app.facts.today import tenant_today
from app.rules.language.evaluate import Evaluation
from app.rules.language.explain import Rationale, explain
from app.rules.language.values import Operand, ValueProblem, scalar


def typed_values(values: Mapping[str, object], catalog: FieldCatalog) -> dict[str, Operand]:
    """Field values converted to their field's type; 422 names each bad or unknown key."""
    typed: dict[str, Operand] = {}
    errors: list[dict[str, Any]] = []
    for key, value in values.items():
        field = catalog.get(key)
        if field is None:
            errors.append(
                {
                    "loc": ["body", "values", key],
                    "msg": Text("未知字段", "Unknown field").get(),
                    "type": "unknown_field",
                }
            )
            continue
        try:
            typed[key] = None if value is None else scalar(field, value)
        except ValueProblem as problem:
            errors.append(
                {
                    "loc": ["body", "values", key, *problem.sub_loc],
                    "msg": problem.text.get(),
                    "type": problem.type,
                }
            )
    if errors:
        raise InvalidInput(Text("字段值无效", "Invalid field values"), errors=errors)
    return typed


@dataclass(frozen=True)
class Explained:
    """An evaluation and its rationale in the caller's language."""

    evaluation: Evaluation
    rationale: Rationale


async def evaluate_body(
    session: AsyncSession,
    principal: Principal,
    ruleset_body: dict[str, Any],
    values: dict[str, Any],
    as_of: date | None,
    tree_id: uuid.UUID | None = None,
) -> Explained:
    """Evaluate a ruleset body for inline values, with the full rationale. Scores (ntile,
    rank_pct) are placed among the cut points of `tree_id`'s latest succeeded run, or
    the tenant's current values' (app/facts/cut_points.py)."""
    catalog = await tenant_catalog(session, principal.tenant_id)
    # No tree here: a `collect` ruleset is evaluated as a multi-assign tree would.
    ruleset = read_ruleset(ruleset_body, catalog, multi_assign=True, loc=("body", "ruleset"))
    day = as_of or tenant_today(principal)
    evaluator = await evaluator_for(session, principal.tenant_id, tree_id, ruleset, day, catalog)
    evaluation = evaluator.evaluate(typed_values(values, catalog), day)
    return Explained(evaluation, explain(evaluation, catalog, current_locale.get()))
