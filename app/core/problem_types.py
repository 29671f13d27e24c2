"""Every problem `type` the service answers with: its status, what it means, an example.

The spec lists them in one place (`components/examples`, one `problem-<slug>` each, and a
table in the API description), and every documented error response points at the
example of its status, so a client can tell from the spec alone what each `type` URI
means and what the document looks like. A test keeps this list equal to the types the
code can produce.
"""

from dataclasses import dataclass
from typing import Any

from app.core.errors import PROBLEM_TYPE_PREFIX, TITLES


@dataclass(frozen=True)
class ProblemType:
    """One `type` URI: the status it comes with, when, and what a client should do."""

    slug: str
    status: int
    meaning: str
    detail: str
    extra: tuple[tuple[str, Any], ...] = ()

    @property
    def uri(self) -> str:
        return PROBLEM_TYPE_PREFIX + self.slug

    def example(
        self, instance: str = "/api/v1/customers/3f0c4b1e-2a4d-4c43-9e5a-6f1c0b9e2a4d"
    ) -> Any:
        """A problem document of this type as the service writes it (zh-CN)."""
        return {
            "type": self.uri,
            "title": TITLES[self.slug].zh,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            "correlation_id": "6f1c0b9e2a4d4c43a1b2c3d4e5f60718",
            **dict(self.extra),
        }


PROBLEM_TYPES: tuple[ProblemType, ...] = (
    ProblemType(
        "bad-request",
        400,
        "The request cannot be read as sent (an upload whose multipart body is broken). "
        "Fix the request; retrying it unchanged fails again.",
        "multipart 请求缺少 boundary",
    ),
    ProblemType(
        "unauthorized",
        401,
        "No API key, or one that is unknown, revoked or expired (`WWW-Authenticate: "
        "Bearer`). Send `Authorization: Bearer <key>`.",
        "缺少 API 密钥",
    ),
    ProblemType(
        "invalid-signature",
        401,
        "An inbound webhook whose `webhook-id`, `webhook-timestamp` or "
        "`webhook-signature` is missing, invalid or too old (also for an unknown "
        "tenant, which it does not reveal).",
        "webhook 签名无效、已过期或缺失(webhook-id、webhook-timestamp、webhook-signature)",
    ),
    ProblemType(
        "forbidden",
        403,
        "The key's role does not allow the operation (viewer < editor < approver < "
        "admin), or `X-Actor` sent with a key that is not delegating.",
        "当前密钥的角色(viewer)不能执行此操作,需要 editor",
    ),
    ProblemType(
        "not-found",
        404,
        "No such resource in the key's tenant (another tenant's resources are not found "
        "either), or no such route.",
        "资源不存在或不属于当前租户",
    ),
    ProblemType(
        "method-not-allowed",
        405,
        "The route exists but not with this method (`Allow` lists the methods).",
        "/api/v1/customers 不支持 PUT",
    ),
    ProblemType(
        "conflict",
        409,
        "The request contradicts the current state: a code or name already taken, a "
        "resource still in use, a run not finished yet. `detail` says which; change the "
        "request or the state first.",
        "客户编号 C-0001 已存在",
    ),
    ProblemType(
        "precondition-failed",
        412,
        "`If-Match` names an ETag that is no longer current: someone changed the "
        "resource since you read it. `current_etag` is the new one; read again, merge, "
        "and retry with it.",
        "资源已被他人修改,请重新获取后再提交(If-Match 与当前 ETag 不符)",
        (("current_etag", '"4"'),),
    ),
    ProblemType(
        "payload-too-large",
        413,
        "The body is larger than the service accepts (`CRMC_MAX_BODY_BYTES`; imports "
        "`CRMC_MAX_IMPORT_BYTES`).",
        "请求体超过上限 10485760 字节",
    ),
    ProblemType(
        "unsupported-media-type",
        415,
        "A body in a media type the operation does not read (JSON operations need "
        "`application/json`).",
        "请求体须为 application/json,收到 text/plain",
    ),
    ProblemType(
        "validation-error",
        422,
        "Invalid input: `errors` lists each problem with `loc` (where: `body`, `query`, "
        "`path`, `header` and the path to the value), `msg` and `type`. Fix those values.",
        "请求中有 1 处无效输入",
        (
            (
                "errors",
                [
                    {
                        "loc": ["body", "name"],
                        "msg": "String should have at least 1 character",
                        "type": "string_too_short",
                    }
                ],
            ),
        ),
    ),
    ProblemType(
        "internal-error",
        500,
        "A defect on the service's side; nothing was changed. Quote `correlation_id` "
        "(also the `X-Request-ID` header) when reporting it.",
        "服务器内部错误,请联系管理员并提供编号 6f1c0b9e2a4d4c43a1b2c3d4e5f60718",
    ),
    ProblemType(
        "service-unavailable",
        503,
        "The database cannot be reached at the moment; retry after `Retry-After` seconds.",
        "数据库暂时无法访问,请稍后重试",
    ),
)

BY_SLUG = {problem.slug: problem for problem in PROBLEM_TYPES}
# The type a status gets unless an operation documents a more specific one.
BY_STATUS: dict[int, ProblemType] = {}
for _problem in PROBLEM_TYPES:
    BY_STATUS.setdefault(_problem.status, _problem)


def example_name(problem: ProblemType) -> str:
    """The problem's entry in `components/examples`."""
    return f"problem-{problem.slug}"


def components_examples() -> dict[str, Any]:
    """`components/examples`: one example per problem type, its meaning as description."""
    return {
        example_name(problem): {
            "summary": f"{problem.status} {problem.uri}",
            "description": problem.meaning,
            "value": problem.example(),
        }
        for problem in PROBLEM_TYPES
    }


def description_table() -> str:
    """The problem types as a Markdown table for the API description."""
    rows = [
        "| type | status | title | meaning |",
        "| --- | --- | --- | --- |",
        *(
            f"| `{p.uri}` | {p.status} | {TITLES[p.slug].zh} · {TITLES[p.slug].en} | {p.meaning} |"
            for p in PROBLEM_TYPES
        ),
    ]
    return "\n".join(rows)
