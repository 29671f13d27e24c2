"""Tenant `demo`: its data, an admin key and the seed templates, ready to explore."""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.db import Database
from app.demo.generate import DemoDataExists, DemoSummary, load_demo
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker
from app.models import CategoryTree, Role, Run
from app.rules import service as rules_service
from app.rules.templates import TEMPLATES
from app.runs import service as run_service
from app.runs.schemas import RunCreate
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
    principal: Principal  # the admin key's, for what the demo does next


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
            session,
            tenant.id,
            customers=customers,
            seed=seed,
            time_zone=tenant.time_zone,
            progress=progress,
        )
    except DemoDataExists:
        summary = None
    key, secret = await tenant_service.create_api_key(
        session,
        tenant.id,
        name="demo admin",
        role=Role.ADMIN,
        delegating=True,
        created_by="cli",
    )
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
    return DemoTenant(secret, summary, installed, principal)


@dataclass(frozen=True, slots=True)
class DemoRun:
    """The apply run the demo started over every installed tree, as it ended."""

    run_id: uuid.UUID
    status: str
    customers: int
    changed: int
    seconds: float


RUN_JOBS = ["run.start", "run.chunk", "run.finalize", "run.prune"]


async def classify_demo_customers(database: Database, principal: Principal) -> DemoRun | None:
    """Run one apply run over every tree of the demo tenant with a published ruleset, to
    the end, unless a run has succeeded there already (None then)."""
    async with database.sessionmaker() as session, session.begin():
        done = await session.scalar(
            select(Run.id)
            .where(Run.tenant_id == principal.tenant_id, Run.status == "succeeded")
            .limit(1)
        )
        if done is not None:
            return None
        run = await run_service.create_run(session, principal, RunCreate())
    started = time.perf_counter()
    load_handlers()
    await Worker(database, kinds=RUN_JOBS).run_until_idle()
    async with database.sessionmaker() as session:
        finished = await session.get(Run, run.id)
        assert finished is not None
        counts = finished.counts or {}
        return DemoRun(
            run.id,
            finished.status,
            counts.get("customers", 0),
            counts.get("changed", 0),
            time.perf_counter() - started,
        )
