"""Rules and conditions read from request bodies, and conditions compiled over customers.

A body that does not hold a valid ruleset or condition is a 422 listing every problem at
its JSON path (under the `loc` of the body part it came from).
"""

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import FieldCatalog
from app.core.auth import Principal
from app.core.errors import InvalidInput
from app.core.i18n import Text
from app.facts.columns import CustomerCondition, compile_customer_condition
from app.facts.fields import tenant_catalog
from app.facts.today import tenant_today
from app.rules.language.errors import RulesetInvalid
from app.rules.language.tree import Condition, Ruleset
from app.rules.language.validate import check_condition, check_ruleset


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
    errors = [{**error.to_dict(), "loc": [*loc, *error.loc]} for error in invalid.errors]
    return InvalidInput(text, errors=errors)


async def customer_condition(
    session: AsyncSession,
    principal: Principal,
    when: Any,
    as_of: date | None,
    loc: tuple[str, ...] = ("query", "when"),
) -> CustomerCondition:
    """A condition (text or JSON) as SQL over the tenant's customers as of `as_of`
    (default: the tenant's today); 422 at `loc` when it is not valid."""
    catalog = await tenant_catalog(session, principal.tenant_id)
    node = read_condition(when, catalog, loc)
    return compile_customer_condition(
        node, principal.tenant_id, as_of or tenant_today(principal), catalog
    )
