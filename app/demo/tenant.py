"""Tenant `demo`: its data, an admin key and the seed templates, ready to explore."""

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.demo.generate import DemoDataExists, DemoSummary, load_demo
from app.models import CategoryTree, Role
from app.rules import service as rules_service
from app.rules.templates import TEMPLATES
from app.tenants import repository as tenant_repository
from app.tenants import service as tenant_service

SLUG = "demo"


@dataclass(frozen=True, slots=True)
class DemoTenant:
    """What `prepare_demo_tenant` did: the admin key's secret, the data it loaded (None
    when the tenant had customers already) and the templates it installed."""

    secret: str
    summary: DemoSummary | None
    templates: list[str]


async def prepare_demo_tenant(
    session: AsyncSession,
    *,
    customers: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
) -> DemoTenant:
    """Create tenant `demo` (or reuse it), load the demo data once, issue an admin key and
    install every seed template the tenant does not have yet (trees, categories with
    playbooks, published rulesets), in the caller's transaction."""
    tenant = await tenant_repository.tenant_by_slug(session, SLUG)
    if tenant is None:
        tenant = await tenant_service.create_tenant(session, SLUG, "演示企业")
    try:
        summary: DemoSummary | None = await load_demo(
            session, tenant.id, customers=customers, seed=seed, time_zone=tenant.time_zone,
            progress=progress,
        )  # fmt: skip
    except DemoDataExists:
        summary = None
    key, secret = await tenant_service.create_api_key(
        session, tenant.id, name="demo admin", role=Role.ADMIN, delegating=True,
        created_by="cli",
    )  # fmt: skip
    principal = Principal(
        tenant.id, tenant.slug, tenant.time_zone, key.id, Role.ADMIN, f"key:{key.prefix}"
    )
    trees = set(
        await session.scalars(select(CategoryTree.key).where(CategoryTree.tenant_id == tenant.id))
    )
    installed = []
    for template in TEMPLATES.values():
        if template["key"] not in trees:
            await rules_service.install_template(session, principal, template)
            installed.append(template["name"])
    return DemoTenant(secret, summary, installed)
