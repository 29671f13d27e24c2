"""The application factory: routers, middleware, error handlers, lifespan."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from app.activity.router import router as activity_router
from app.audit.router import router as audit_router
from app.categories.assignments.router import router as assignments_router
from app.categories.change_requests.router import router as change_requests_router
from app.categories.router import router as categories_router
from app.core.collector import settle_after_start
from app.core.cors import install_cors
from app.core.db import Database, EmbeddedPostgres, migration_state, upgrade_to_head
from app.core.errors import install_error_handlers
from app.core.logging import configure_logging
from app.core.metrics import AppMetrics
from app.core.middleware import RequestContextMiddleware
from app.core.openapi import install_openapi
from app.core.settings import Settings, get_settings
from app.customers.router import router as customers_router
from app.deliveries.router import router as deliveries_router
from app.fields.router import router as fields_router
from app.health.router import router as health_router
from app.imports.router import router as imports_router
from app.industries.router import router as industries_router
from app.jobs.supervisor import supervised_worker
from app.quality.router import router as quality_router
from app.reports.router import router as reports_router
from app.reports.router import run_report_router
from app.rules.router import router as rules_router
from app.rules.suggestions.router import router as suggestions_router
from app.rules.templates_router import router as templates_router
from app.rules.versions_router import router as rulesets_router
from app.runs.router import customer_router as run_customer_router
from app.runs.router import router as runs_router
from app.schedules.router import router as schedules_router
from app.tenants.router import router as tenants_router
from app.webhooks.router import router as webhooks_router

log = logging.getLogger(__name__)

DESCRIPTION = """
crm-classifier 将企业客户按分类维度(价值、活跃度、风险、客户关系 …)自动分类并持续保持分类准确:
带审批与审计的分类树、版本化规则集、百万级客户的分类运行(每条结果附分类依据)、报表导出,
以及订单 webhook 到达后数秒内的重新分类。

Sorts an enterprise's customers into categories and keeps them sorted. Every `/api/v1`
operation needs `Authorization: Bearer <API key>`; errors are `application/problem+json`
(RFC 9457); lists use cursor pagination; mutable resources carry an `ETag`.
Human-facing text is Chinese (zh-CN) by default, English with `Accept-Language: en`.
"""


class MigrationsBehind(RuntimeError):
    """The database is not at the code's migration head and upgrading was not allowed."""


async def open_database(settings: Settings) -> tuple[Database, EmbeddedPostgres | None]:
    """Connect to CRMC_DATABASE_URL, or start the embedded server when it is unset."""
    embedded = None
    url = settings.database_url
    if url is None:
        embedded = EmbeddedPostgres(settings.data_dir)
        url = await embedded.ensure_database()
    database = Database.connect(
        url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    return database, embedded


async def ensure_migrated(database: Database, url: str, *, allow_upgrade: bool) -> None:
    """Upgrade to head if allowed; otherwise refuse to serve an outdated database."""
    state = await migration_state(database.engine)
    if state.up_to_date:
        return
    if not allow_upgrade:
        raise MigrationsBehind(
            f"database is at migration {state.current}, the code needs {state.head}: "
            "run `crm-classifier migrate` or start with --migrate"
        )
    log.info("upgrading database from %s to %s", state.current, state.head)
    await upgrade_to_head(url)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the app. Without `database`, the lifespan opens one from the settings."""
    settings = settings or get_settings()
    metrics = AppMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if database is not None:  # owned by the caller (tests, embedding)
            yield
            return
        db, embedded = await open_database(settings)
        try:
            allow = settings.migrate_on_start
            await ensure_migrated(
                db,
                db.engine.url.render_as_string(hide_password=False),
                allow_upgrade=embedded is not None if allow is None else allow,
            )
            app.state.database = db
            metrics.watch_pool(db.engine)
            url = db.engine.url.render_as_string(hide_password=False)
            async with supervised_worker(settings, url, enabled=settings.worker_in_process):
                settle_after_start()
                yield
        finally:
            await db.dispose()
            if embedded is not None:
                embedded.stop()

    app = FastAPIOffline(
        title="crm-classifier",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "health", "description": "Liveness, readiness"},
            {"name": "tenant", "description": "The tenant's settings"},
            {"name": "api-keys", "description": "API keys (admin)"},
            {"name": "audit", "description": "Audit log"},
            {"name": "customers", "description": "客户 · Customers"},
            {"name": "categories", "description": "分类维度与分类 · Category trees and categories"},
            {"name": "assignments", "description": "客户分类与历史 · Assignments and history"},
            {"name": "change-requests", "description": "审核 · Change requests (four eyes)"},
            {"name": "data-quality", "description": "数据质量 · Data quality, duplicates, merge"},
            {"name": "rules", "description": "规则 · Rules, rulesets and versions"},
            {
                "name": "activity",
                "description": "订单、沟通、投诉 · Orders, interactions, complaints",
            },
            {"name": "imports", "description": "导入 · CSV/XLSX imports with Chinese templates"},
            {"name": "runs", "description": "分类执行 · Classification runs and their results"},
            {
                "name": "webhook-endpoints",
                "description": "出站 Webhook · Outbound webhook endpoints and deliveries",
            },
            {"name": "webhooks", "description": "入站 webhook · Signed inbound events"},
            {"name": "reports", "description": "分类报告 · Reports and exports (CSV, XLSX, PDF)"},
        ],
    )
    app.state.settings = settings
    app.state.metrics = metrics
    if database is not None:
        app.state.database = database
        metrics.watch_pool(database.engine)
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(
        RequestContextMiddleware,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        max_import_bytes=settings.max_import_bytes,
    )
    install_cors(app, settings.cors_origins)
    for router in (
        health_router,
        tenants_router,
        audit_router,
        customers_router,
        activity_router,
        fields_router,
        industries_router,
        rules_router,
        categories_router,
        assignments_router,
        change_requests_router,
        imports_router,
        quality_router,
        rulesets_router,
        suggestions_router,
        templates_router,
        runs_router,
        run_customer_router,
        deliveries_router,
        webhooks_router,
        schedules_router,
        run_report_router,
        reports_router,
    ):
        app.include_router(router)
    return app


def create_app_from_env() -> FastAPI:
    """Entry point for `uvicorn --factory app.main:create_app_from_env`."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
