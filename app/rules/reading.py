"""Reading request bodies into the rule language (422 at JSON paths), and evaluating
rulesets for inline values."""

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.errors import InvalidInput
from app.core.i18n import Text, current_locale
from app.fields.catalog import FieldCatalog
from app.fields.service import tenant_catalog
from app.rules.language.errors import RulesetInvalid
from app.rules.language.evaluate import Evaluator
from app.rules.language.explain import explain
from app.rules.language.tree import Condition, Ruleset
from app.rules.language.validate import check_condition, check_ruleset
from app.rules.language.values import ValueProblem, scalar


def today_for(principal: Principal) -> date:
    """Today in the tenant's time zone (the default `as_of`)."""
    return datetime.now(ZoneInfo(principal.tenant_time_zone)).date()


def read_ruleset(
    body: dict[str, Any],
    catalog: FieldCatalog,
    *,
    categories: set[str] | None = None,
    multi_assign: bool = False,
    loc: tuple[str, ...] = ("body",),
) -> Ruleset:
    """A validated ruleset, or 422 listing every problem at its JSON path under `loc`."""
    try:
        return check_ruleset(body, catalog, categories, multi_assign)
    except RulesetInvalid as invalid:
        count = len(invalid.errors)
        text = Text(f"规则集有 {count} 处错误", f"The ruleset has {count} problem(s)")
        raise _at(invalid, loc, text) from invalid


def read_condition(data: Any, catalog: FieldCatalog, loc: tuple[str, ...]) -> Condition:
    """A validated condition (JSON or text), or 422 with errors at their path under `loc`."""
    try:
        return check_condition(data, catalog)
    except RulesetInvalid as invalid:
        raise _at(invalid, loc, Text("条件无效", "Invalid condition")) from invalid


def _at(invalid: RulesetInvalid, loc: tuple[str, ...], text: Text) -> InvalidInput:
    """A 422 listing every problem, each at its JSON path under `loc`."""
    errors = [error.to_dict() for error in invalid.errors]
    for error in errors:
        error["loc"] = [*loc, *error["loc"]]
    return InvalidInput(text, errors=errors)


def typed_values(values: dict[str, Any], catalog: FieldCatalog) -> dict[str, Any]:
    """Field values converted to their field's type; 422 names each bad or unknown key."""
    typed: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for key, value in values.items():
        field = catalog.get(key)
        if field is None:
            errors.append(
                {"loc": ["body", "values", key], "msg": Text("未知字段", "Unknown field").get(),
                 "type": "unknown_field"}
            )  # fmt: skip
            continue
        try:
            typed[key] = None if value is None else scalar(field, value)
        except ValueProblem as problem:
            errors.append(
                {"loc": ["body", "values", key, *problem.sub_loc], "msg": problem.text.get(),
                 "type": problem.type}
            )  # fmt: skip
    if errors:
        raise InvalidInput(Text("字段值无效", "Invalid field values"), errors=errors)
    return typed


async def evaluate_body(
    session: AsyncSession,
    principal: Principal,
    ruleset_body: dict[str, Any],
    values: dict[str, Any],
    as_of: date | None,
) -> dict[str, Any]:
    """Evaluate a ruleset body for inline values, with the full rationale."""
    catalog = await tenant_catalog(session, principal.tenant_id)
    ruleset = read_ruleset(ruleset_body, catalog, loc=("body", "ruleset"))
    evaluation = Evaluator(ruleset, catalog).evaluate(
        typed_values(values, catalog), as_of or today_for(principal)
    )
    rationale = explain(evaluation, catalog, current_locale.get())
    rule = evaluation.rule
    return {
        "category": evaluation.category,
        "categories": list(evaluation.categories),
        "rule": rationale.rule,
        "rationale": {
            "text": rationale.text,
            "conditions": rationale.conditions,
            "why_not": rationale.why_not,
        },
        "borderline": evaluation.borderline,
        "tags": list(rule.tags) if rule else [],
        "next_action": rule.next_action if rule else None,
    }
