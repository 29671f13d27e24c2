"""Rules that reference a category — the seam between categories and rules."""

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.categories.schemas import RuleReference
from app.models import Category
from app.models.rules import Ruleset, RulesetVersion


async def rules_referencing_category(
    session: AsyncSession, category: Category, *, published_only: bool = False
) -> list[RuleReference]:
    """Rules that name the category (by code) in a draft or published version of the
    tree's ruleset — as a rule's target or as the default category (`rule_key` "*")."""
    code = category.code
    statement = (
        select(RulesetVersion)
        .join(
            Ruleset,
            (Ruleset.tenant_id == RulesetVersion.tenant_id)
            & (Ruleset.id == RulesetVersion.ruleset_id),
        )
        .where(
            Ruleset.tenant_id == category.tenant_id,
            Ruleset.tree_id == category.tree_id,
            RulesetVersion.status.in_(("published",) if published_only else ("draft", "published")),
            or_(
                RulesetVersion.body["default_category"].astext == code,
                RulesetVersion.body["rules"].contains([{"category": code}]),
            ),
        )
        .order_by(RulesetVersion.number)
    )
    references = []
    for version in (await session.scalars(statement)).all():
        if version.body.get("default_category") == code:
            references.append(
                RuleReference(ruleset_id=version.ruleset_id, version=version.number, rule_key="*")
            )
        for rule in version.body.get("rules", []):
            if isinstance(rule, dict) and rule.get("category") == code:
                references.append(
                    RuleReference(ruleset_id=version.ruleset_id, version=version.number,
                                  rule_key=str(rule.get("key")))
                )  # fmt: skip
    return references
