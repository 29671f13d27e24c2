"""The request edge, as one pure-ASGI middleware (cheap: no per-request Request objects).

For every HTTP request it assigns the request id, negotiates the locale, enforces the
body-size limit (413), turns any unhandled exception into a 500 problem with a
correlation id (never a stack trace), records Prometheus metrics and writes one
structured access-log line.
"""

import logging
import re
import time
import uuid
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem_response
from app.core.i18n import Text, current_locale, locale_was_negotiated, negotiate
from app.core.metrics import AppMetrics
from app.core.request_context import current_request_id, current_request_path
from app.core.schemas import body_text_checked

log = logging.getLogger("crm_classifier.access")
error_log = logging.getLogger("crm_classifier.error")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def _said_in(headers: list[tuple[bytes, bytes]], language: bytes) -> list[tuple[bytes, bytes]]:
    """`headers` with `Content-Language` and `Accept-Language` among the `Vary` names (a
    cache must not hand one language's answer to a client asking for another)."""
    vary = [value for name, value in headers if name.lower() == b"vary"]
    names = {n.strip().lower() for value in vary for n in value.split(b",")}
    kept = [(name, value) for name, value in headers if name.lower() != b"vary"]
    if b"accept-language" not in names:
        vary.append(b"Accept-Language")
    return [*kept, (b"vary", b", ".join(vary)), (b"content-language", language)]


class _BodyTooLarge(Exception):
    pass


def _too_large_detail(limit: int) -> Text:
    return Text(
        f"请求体超过上限 {limit} 字节", f"The request body exceeds the limit of {limit} bytes"
    )


class RequestContextMiddleware:
    """See the module docstring."""

    # File uploads stream into storage in chunks, so they may be far larger than a body
    # that is parsed in memory.
    UPLOAD_PATHS = frozenset({"/api/v1/imports"})

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: AppMetrics,
        max_body_bytes: int,
        max_import_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.max_import_bytes = max_import_bytes or max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        request_id = headers.get("x-request-id", "")
        if not _REQUEST_ID.match(request_id):
            request_id = uuid.uuid4().hex
        negotiated = negotiate(headers.get("accept-language"))
        rid_token = current_request_id.set(request_id)
        path_token = current_request_path.set(scope["path"])
        checked_token = body_text_checked.set(False)
        locale_token = current_locale.set(negotiated or "zh-CN")
        negotiated_token = locale_was_negotiated.set(negotiated is not None)
        started = time.perf_counter()
        status = 500
        upload = scope["method"] == "POST" and scope["path"] in self.UPLOAD_PATHS
        limit = self.max_import_bytes if upload else self.max_body_bytes
        response_started = False
        # The API's answers and every problem are worded in the negotiated language.
        localised = scope["path"].startswith("/api/")
        language = (negotiated or "zh-CN").encode()

        async def send_with_request_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
                if localised or status >= 400:
                    message["headers"] = _said_in(message["headers"], language)
            await send(message)

        try:
            if (nul_in := _nul_in(scope)) is not None:
                # PostgreSQL cannot store NUL, so no parameter with one can name anything.
                await problem_response(
                    422,
                    detail=_NUL_DETAIL[nul_in].get(),
                    errors=[{"loc": [nul_in], "msg": "NUL character", "type": "nul_character"}],
                )(scope, receive, send_with_request_id)
                return
            declared = headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise _BodyTooLarge
            await self.app(scope, self._limited(receive, limit), send_with_request_id)
        except _BodyTooLarge:
            if not response_started:
                detail = _too_large_detail(limit)
                await problem_response(413, detail=detail.get())(
                    scope, receive, send_with_request_id
                )
        except Exception:
            error_log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not response_started:
                detail = Text(
                    f"服务器内部错误,请联系管理员并提供编号 {request_id}",
                    f"Internal error; quote correlation id {request_id} when reporting it",
                )
                await problem_response(500, detail=detail.get())(
                    scope, receive, send_with_request_id
                )
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.latency.labels(scope["method"], template).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            current_request_id.reset(rid_token)
            current_request_path.reset(path_token)
            body_text_checked.reset(checked_token)
            current_locale.reset(locale_token)
            locale_was_negotiated.reset(negotiated_token)

    def _limited(self, receive: Receive, limit: int) -> Receive:
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI re-raises HTTPException from body reading (anything else
                    # would become a 400), and the error handler renders the problem.
                    raise HTTPException(413, _too_large_detail(limit).get())
            return message

        return receive_limited


_NUL_DETAIL = {
    "path": Text("路径参数不能包含 NUL 字符", "Path parameters must not contain NUL"),
    "query": Text("查询参数不能包含 NUL 字符", "Query parameters must not contain NUL"),
}


def _nul_in(scope: Scope) -> str | None:
    """`path` or `query` when that part of the URL holds a NUL (the path arrives decoded,
    the query string still percent-encoded)."""
    if "\x00" in scope["path"]:
        return "path"
    if b"%00" in scope.get("query_string", b"").lower():
        return "query"
    return None


def _headers(scope: Scope) -> dict[str, Any]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
