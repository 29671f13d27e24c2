"""Per-request context shared by logs, errors and audit: the request id and path."""

from contextvars import ContextVar

current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)
# The request's path: a problem's `instance` unless it names something more precise.
current_request_path: ContextVar[str | None] = ContextVar("current_request_path", default=None)
