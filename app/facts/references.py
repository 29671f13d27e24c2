"""Which rules reference a category or a field — the one way of asking it.

A version's body is read with the rule language (so a `when` written as text counts
like one written as JSON), never searched as JSON text. Used to refuse deleting what a
published rule still uses, and to show what an edit would touch.
"""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import FieldCatalog
from app.core.errors import Conflict
from app.core.i18n import Text
from app.models.rules import Ruleset, RulesetVersion
from app.rules.language.parse_json import read_ruleset
from app.rules.language.tree import Rule, iter_leaves
from app.rules.language.tree import Ruleset as RuleTree

VersionStatus = Literal["draft", "published"]

DEFAULT_RULE_KEY = "*"
"""The `rule_key` of a reference made by a ruleset's default category."""


@dataclass(frozen=True, slots=True)
class RuleReference:
    """A rule of a ruleset version that names the thing asked about."""

    ruleset_id: uuid.UUID
    version: int
    rule_key: str

    def to_json(self) -> dict[str, object]:
        """JSON-ready form (ids as strings)."""
        return {**asdict(self), "ruleset_id": str(self.ruleset_id)}


class UsedByPublishedRules(Conflict):
    """Something a published rule references (a category, a custom field) cannot go;
    the problem names the rules ("v3:core") and lists them under `rules`."""

    def __init__(self, what: Text, rules: list[RuleReference]) -> None:
        names = ", ".join(f"v{r.version}:{r.rule_key}" for r in rules)
        super().__init__(
            Text(
                f"已发布的规则仍在使用该{what.zh}({names}),请先发布不再引用它的规则集版本",
                f"Published rules still use this {what.en} ({names}); publish a ruleset "
                "version without them first",
            ),
            extra={"rules": [r.to_json() for r in rules]},
        )


async def rules_naming_category(
    session: AsyncSession,
    catalog: FieldCatalog,
    tenant_id: uuid.UUID,
    tree_id: uuid.UUID,
    code: str,
    statuses: Iterable[VersionStatus] = ("draft", "published"),
) -> list[RuleReference]:
    """Rules of the tree's ruleset that assign to category `code`, and versions whose
    default category it is (`rule_key` "*")."""

    def names(ruleset: RuleTree) -> Iterable[str]:
        if ruleset.default_category == code:
            yield DEFAULT_RULE_KEY
        yield from (rule.key for rule in ruleset.rules if rule.category == code)

    return await _references(session, catalog, tenant_id, tree_id, statuses, names)


async def rules_using_field(
    session: AsyncSession,
    catalog: FieldCatalog,
    tenant_id: uuid.UUID,
    key: str,
    statuses: Iterable[VersionStatus] = ("published",),
) -> list[RuleReference]:
    """Rules of any tree whose conditions read field `key`."""

    def names(ruleset: RuleTree) -> Iterable[str]:
        return (rule.key for rule in ruleset.rules if _reads(rule, key))

    return await _references(session, catalog, tenant_id, None, statuses, names)


def _reads(rule: Rule, key: str) -> bool:
    return any(leaf.field == key for leaf in iter_leaves(rule.when))


async def _references(
    session: AsyncSession,
    catalog: FieldCatalog,
    tenant_id: uuid.UUID,
    tree_id: uuid.UUID | None,
    statuses: Iterable[VersionStatus],
    names: Callable[[RuleTree], Iterable[str]],
) -> list[RuleReference]:
    statement = (
        select(RulesetVersion.ruleset_id, RulesetVersion.number, RulesetVersion.body)
        .join(
            Ruleset,
            (Ruleset.tenant_id == RulesetVersion.tenant_id)
            & (Ruleset.id == RulesetVersion.ruleset_id),
        )
        .where(Ruleset.tenant_id == tenant_id, RulesetVersion.status.in_(list(statuses)))
        .order_by(RulesetVersion.ruleset_id, RulesetVersion.number)
    )
    if tree_id is not None:
        statement = statement.where(Ruleset.tree_id == tree_id)
    found = []
    for ruleset_id, number, body in await session.execute(statement):
        # Rules that no longer read (a field since removed) are left out by the parser.
        parsed, _ = read_ruleset(body, catalog)
        if parsed is not None:
            found += [RuleReference(ruleset_id, number, key) for key in names(parsed)]
    return found
