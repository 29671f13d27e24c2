"""All models, imported here so Alembic's autogenerate and `alembic check` see every table."""

from app.models.audit import AuditEvent
from app.models.base import Base
from app.models.idempotency import IdempotencyRecord
from app.models.tenants import ApiKey, Role, Tenant

__all__ = ["ApiKey", "AuditEvent", "Base", "IdempotencyRecord", "Role", "Tenant"]
