"""All models, imported here so Alembic's autogenerate and `alembic check` see every table."""

from app.models.activity import Complaint, FactChange, Interaction, Order
from app.models.audit import AuditEvent
from app.models.base import Base, table_of
from app.models.categories import (
    Assignment,
    AssignmentHistory,
    Category,
    CategoryTree,
    ChangeRequest,
)
from app.models.customers import Customer, CustomerAlias, Industry
from app.models.deliveries import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookDispatchPosition,
    WebhookEndpoint,
)
from app.models.fields import CustomField
from app.models.idempotency import IdempotencyRecord
from app.models.jobs import Import, ImportChunk, ImportRowError, Job
from app.models.reports import ReportExport, ReportExportChunk
from app.models.rules import Ruleset, RulesetVersion
from app.models.runs import (
    OutboxEvent,
    Run,
    RunCategory,
    RunChunk,
    RunCutPoint,
    RunResult,
    RunTree,
)
from app.models.schedules import Schedule, ScheduleFire
from app.models.tenants import ApiKey, Role, Tenant
from app.models.webhooks import InboundSecret, WebhookEvent, WebhookEventCustomer

__all__ = [
    "ApiKey",
    "Assignment",
    "AssignmentHistory",
    "AuditEvent",
    "Base",
    "Category",
    "CategoryTree",
    "ChangeRequest",
    "Complaint",
    "CustomField",
    "Customer",
    "CustomerAlias",
    "FactChange",
    "IdempotencyRecord",
    "Import",
    "ImportChunk",
    "ImportRowError",
    "InboundSecret",
    "Industry",
    "Interaction",
    "Job",
    "Order",
    "OutboxEvent",
    "ReportExport",
    "ReportExportChunk",
    "Role",
    "Ruleset",
    "RulesetVersion",
    "Run",
    "RunCategory",
    "RunChunk",
    "RunCutPoint",
    "RunResult",
    "RunTree",
    "Schedule",
    "ScheduleFire",
    "Tenant",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookDispatchPosition",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookEventCustomer",
    "table_of",
]
