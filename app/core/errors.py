"""Problem details (RFC 9457) for every error the service can produce.

Domain code raises a `DomainError` subclass; one handler turns it into
`application/problem+json`. Framework errors (unknown route, wrong method, request
validation) get the same shape here, so no endpoint ever builds an error by hand.
"""

import logging
from typing import Annotated, Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from typing_extensions import TypeAliasType

from app.core.db import DatabaseUnavailable, database_unavailable
from app.core.i18n import Text
from app.core.request_context import current_request_id, current_request_path
from app.core.validation_messages import validation_message

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:crm-classifier:problem:"

TITLES: dict[str, Text] = {
    "bad-request": Text("请求无效", "Bad request"),
    "unauthorized": Text(
        "未认证:缺少或无效的 API 密钥", "Unauthorized: missing or invalid API key"
    ),
    "invalid-signature": Text("未认证:webhook 签名无效", "Unauthorized: invalid webhook signature"),
    "forbidden": Text("无权执行此操作", "Forbidden"),
    "not-found": Text("资源不存在", "Not found"),
    "method-not-allowed": Text("不支持该请求方法", "Method not allowed"),
    "conflict": Text("与当前状态冲突", "Conflict"),
    "precondition-failed": Text("资源已被修改(ETag 不匹配)", "Precondition failed (stale ETag)"),
    "payload-too-large": Text("请求体过大", "Payload too large"),
    "unsupported-media-type": Text("不支持的内容类型", "Unsupported media type"),
    "validation-error": Text("请求参数校验失败", "Validation failed"),
    "internal-error": Text("服务器内部错误", "Internal server error"),
    "service-unavailable": Text("服务暂不可用", "Service unavailable"),
}

_STATUS_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    500: "internal-error",
    503: "service-unavailable",
}


class ValidationIssue(BaseModel):
    """One invalid input: where it is, what is wrong, and the error type."""

    loc: list[str | int] = Field(examples=[["body", "role"]])
    msg: str = Field(examples=["Input should be 'viewer', 'editor', 'approver' or 'admin'"])
    type: str = Field(examples=["enum"])

    def under(self, *prefix: str | int) -> dict[str, Any]:
        """This issue as an entry of a problem's `errors`, `prefix` before its `loc` (an
        item's issue in the request: `under("body", "items", index)`)."""
        return {**self.model_dump(), "loc": [*prefix, *self.loc]}


ProblemScalar = StrictBool | int | float | str | None
ProblemValue = TypeAliasType(
    "ProblemValue",
    Annotated[
        "ProblemScalar | list[ProblemScalar | ProblemObject] | ProblemObject",
        Field(
            description="An extension member's value, as JSON (RFC 9457 §3.2): what a problem "
            "type adds to explain itself, e.g. `current_etag`, `current_version`, `customers`"
        ),
    ],
)
ProblemObject = TypeAliasType(
    "ProblemObject", Annotated["dict[str, ProblemValue]", Field(description="A JSON object")]
)


class Problem(BaseModel):
    """An error response (RFC 9457 problem details); a problem type may add extension
    members (`current_etag` on a 412, `customers` when a category still holds some …)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, ProblemValue] = Field(init=False)

    type: str = Field(examples=["urn:crm-classifier:problem:not-found"])
    title: str = Field(examples=["资源不存在"])
    status: int = Field(examples=[404])
    detail: str | None = Field(default=None, examples=["找不到该 API 密钥"])
    instance: str | None = Field(default=None, examples=["/api/v1/api-keys/…"])
    correlation_id: str | None = Field(default=None, examples=["6f1c0b9e2a4d4c43"])
    errors: list[ValidationIssue] | None = None


class DomainError(Exception):
    """Base of every error the domain raises on purpose; the class says the status."""

    status: ClassVar[int] = 400
    slug: ClassVar[str | None] = None  # defaults to the status' generic slug
    default_detail: ClassVar[Text | None] = None

    def __init__(
        self,
        detail: Text | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.errors = errors
        self.extra = extra or {}
        self.headers = headers
        super().__init__(self.detail.en if self.detail else self.__class__.__name__)


class BadRequest(DomainError):
    status = 400


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404
    default_detail = Text("资源不存在或不属于当前租户", "The resource does not exist")


class Conflict(DomainError):
    status = 409


class PreconditionFailed(DomainError):
    status = 412
    default_detail = Text(
        "资源已被他人修改,请重新获取后再提交(If-Match 与当前 ETag 不符)",
        "The resource changed since you read it (If-Match does not match the current ETag)",
    )


class PayloadTooLarge(DomainError):
    status = 413


class UnsupportedMediaType(DomainError):
    status = 415


class InvalidInput(DomainError):
    """422 with `errors` pointing at the offending input."""

    status = 422


def problem_response(
    status: int,
    *,
    slug: str | None = None,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> JSONResponse:
    """A problem+json response with a localised title."""
    slug = slug or _STATUS_SLUGS.get(status, "bad-request" if status < 500 else "internal-error")
    title = TITLES.get(slug) or TITLES[_STATUS_SLUGS.get(status, "bad-request")]
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + slug,
        "title": title.get(),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    instance = instance or current_request_path.get()
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    request_id = current_request_id.get()
    if request_id:
        body["correlation_id"] = request_id
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _localised_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for error in errors:
        msg = error.get("msg", "")
        if isinstance(msg, Text):
            msg = msg.get()
        out.append({"loc": list(error.get("loc", [])), "msg": str(msg), "type": error["type"]})
    return out


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(
        exc.status,
        slug=exc.slug,
        detail=exc.detail.get() if exc.detail else None,
        errors=_localised_errors(exc.errors) if exc.errors is not None else None,
        extra=exc.extra,
        headers=exc.headers,
        instance=request.url.path,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == "Not Found":
        detail = Text(f"没有这个地址:{request.url.path}", f"No route {request.url.path}").get()
    elif exc.status_code == 405:
        detail = Text(
            f"{request.url.path} 不支持 {request.method}",
            f"{request.method} is not allowed on {request.url.path}",
        ).get()
    return problem_response(
        exc.status_code, detail=detail, headers=getattr(exc, "headers", None), instance=None
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", [])), "msg": validation_message(e), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    detail = Text(
        f"请求中有 {len(errors)} 处无效输入", f"{len(errors)} invalid input(s) in the request"
    )
    return problem_response(422, detail=detail.get(), errors=errors)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # A constraint caught what a check in Python missed (typically a race between two
    # requests): the transaction is rolled back, and the client may retry.
    log.warning("integrity error", exc_info=exc)
    detail = Text(
        "与其他数据冲突(唯一性或引用约束),未做任何修改",
        "Conflicts with existing data (a uniqueness or reference constraint); nothing changed",
    )
    return problem_response(409, detail=detail.get())


# Seconds a client should wait before retrying while the database is unavailable.
RETRY_AFTER_SECONDS = 5


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # A DBAPIError that is not about the connection is a bug: the 500 path logs it.
    if not database_unavailable(exc):
        raise exc
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    detail = Text(
        "数据库暂时无法访问,请稍后重试", "The database is unavailable at the moment; retry shortly"
    )
    return problem_response(
        503, detail=detail.get(), headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


def install_error_handlers(app: FastAPI) -> None:
    """The one handler table: every exception type the app maps to a problem."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    for unavailable in (DatabaseUnavailable, PoolTimeout, DBAPIError):
        app.add_exception_handler(unavailable, _database_unavailable)
