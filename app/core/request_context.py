"""Per-request context shared by logs, errors and audit: the request id."""

from contextvars import ContextVar

current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)
