"""Rules that reference a category — the seam between categories and rules."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.facts.fields import tenant_catalog
from app.facts.references import RuleReference, VersionStatus, rules_naming_category
from app.models import Category


async def rules_referencing_category(
    session: AsyncSession, category: Category, *, published_only: bool = False
) -> list[RuleReference]:
    """Rules that name the category (by code) in a draft or published version of the
    tree's ruleset — as a rule's target or as the default category (`rule_key` "*")."""
    statuses: tuple[VersionStatus, ...] = (
        ("published",) if published_only else ("draft", "published")
    )
    catalog = await tenant_catalog(session, category.tenant_id)
    return await rules_naming_category(
        session, catalog, category.tenant_id, category.tree_id, category.code, statuses
    )
