"""Who is calling: API-key authentication, roles and the acting user.

Every /api/v1 route depends on one of the role aliases below, so authentication and
authorisation happen in one place. The resulting `Principal` carries the tenant that
every repository call is scoped to.
"""

import hashlib
import hmac
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final
from urllib.parse import unquote

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update

from app.core.deps import Session
from app.core.errors import Forbidden, Unauthorized
from app.core.i18n import Text, current_locale, locale_was_negotiated, normalise_locale
from app.models import ApiKey, Role, Tenant

KEY_PREFIX = "crmc_"
_KEY_SHAPE = re.compile(r"^crmc_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    bearerFormat="crmc_<prefix>_<secret>",
    description="`Authorization: Bearer <API key>`. Keys belong to one tenant and one role.",
)


_USER: Final = "user:"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request."""

    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_time_zone: str
    api_key_id: uuid.UUID
    role: Role
    actor: str  # "key:<prefix>" or, for a delegating key with X-Actor, "user:<name>"


def comparable_name(name: str) -> str:
    """A user name as four-eyes compares it: NFKC, without format characters (zero-width
    spaces, joiners, direction marks), case-folded, trimmed. "Alice", "alice" and
    "alice" + U+200B are one person; so are full-width "ａｌｉｃｅ" and "alice"."""
    visible = "".join(
        c for c in unicodedata.normalize("NFKC", name) if unicodedata.category(c) != "Cf"
    )
    return unicodedata.normalize("NFKC", visible.casefold()).strip()


def same_person(
    first_key_id: uuid.UUID | None, first_actor: str, second_key_id: uuid.UUID, second_actor: str
) -> bool:
    """Whether two actions were taken by one person, as far as the service can tell.

    One key is one person, whatever X-Actor it sends, unless it is a delegating key and
    both actions named their user (`user:<name>`): then the names decide, compared by
    `comparable_name`. Different keys are different people. `first_key_id` is None for
    actions recorded before keys were kept; then the actors alone decide.
    """
    if first_key_id is not None and first_key_id != second_key_id:
        return False
    first_user, second_user = _user_of(first_actor), _user_of(second_actor)
    if first_user is None or second_user is None:
        return first_key_id is not None or comparable_name(first_actor) == comparable_name(
            second_actor
        )
    return comparable_name(first_user) == comparable_name(second_user)


def _user_of(actor: str) -> str | None:
    return actor.removeprefix(_USER) if actor.startswith(_USER) else None


def hash_key(key: str) -> bytes:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).digest()


def split_key(key: str) -> str | None:
    """The key's visible prefix, or None when it is not shaped like one of our keys."""
    match = _KEY_SHAPE.match(key)
    return match.group(1) if match else None


_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="crm-classifier"'}
_ACTOR = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")


async def authenticate(
    request: Request,
    session: Session,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    x_actor: Annotated[
        str | None,
        Header(
            alias="X-Actor",
            max_length=200,
            # Printable ASCII (a name beyond ASCII comes percent-encoded), no blank at
            # either end (HTTP strips those anyway).
            pattern=r"^[!-~](?:[ -~]*[!-~])?$",
            description="End user acting through a delegating key (recorded in audit, "
            "compared in four-eyes approval); UTF-8, percent-encoded when not ASCII "
            "(`%E5%BC%A0%E4%BC%9F` for 张伟). Refused for other keys.",
        ),
    ] = None,
) -> Principal:
    """Resolve the bearer key to a principal; 401 unless it is a live key."""
    if credentials is None:
        raise Unauthorized(
            Text(
                "缺少 Authorization: Bearer <API 密钥>", "Missing Authorization: Bearer <API key>"
            ),
            headers=_UNAUTHORIZED_HEADERS,
        )
    prefix = split_key(credentials.credentials)
    row = None
    if prefix is not None:
        row = (
            await session.execute(
                select(ApiKey, Tenant)
                .join(Tenant, Tenant.id == ApiKey.tenant_id)
                .where(ApiKey.prefix == prefix)
            )
        ).first()
    if (
        row is None
        or row.ApiKey.revoked_at is not None
        or not hmac.compare_digest(row.ApiKey.secret_hash, hash_key(credentials.credentials))
    ):
        raise Unauthorized(
            Text("API 密钥无效或已吊销", "The API key is invalid or revoked"),
            headers=_UNAUTHORIZED_HEADERS,
        )
    key, tenant = row.ApiKey, row.Tenant
    if not locale_was_negotiated.get():
        current_locale.set(normalise_locale(tenant.locale))
    actor = f"key:{key.prefix}"
    if x_actor is not None:
        if not key.delegating:
            raise Forbidden(
                Text(
                    "此密钥不是代理密钥,不能使用 X-Actor 代表其他用户",
                    "This key is not delegating; it cannot act for a user via X-Actor",
                )
            )
        try:
            name = unquote(x_actor, errors="strict").strip()
        except UnicodeDecodeError:
            name = ""
        if not _ACTOR.match(name):
            raise Forbidden(Text("X-Actor 无效", "Invalid X-Actor"))
        actor = f"{_USER}{name}"
    await _touch(request, session, key)
    return Principal(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        tenant_time_zone=tenant.time_zone,
        api_key_id=key.id,
        role=Role(key.role),
        actor=actor,
    )


async def _touch(request: Request, session: Session, key: ApiKey) -> None:
    # Written at most once a minute per key so reads do not turn into a write each.
    interval = timedelta(seconds=request.app.state.settings.api_key_touch_seconds)
    now = datetime.now(UTC)
    if key.last_used_at is None or now - key.last_used_at >= interval:
        # SKIP LOCKED: when a concurrent request of the same key is touching the row, let it;
        # waiting for its lock would serialise every request made with one key.
        free = select(ApiKey.id).where(ApiKey.id == key.id).with_for_update(skip_locked=True)
        await session.execute(
            update(ApiKey).where(ApiKey.id.in_(free.scalar_subquery())).values(last_used_at=now)
        )


def require(role: Role):
    """A dependency that authenticates and then demands at least `role`."""

    async def dependency(
        principal: Annotated[Principal, Depends(authenticate)],
    ) -> Principal:
        if not principal.role.allows(role):
            raise Forbidden(
                Text(
                    f"需要 {role.value} 或更高角色,当前密钥为 {principal.role.value}",
                    f"Requires role {role.value} or higher; this key is {principal.role.value}",
                )
            )
        return principal

    return dependency


ViewerKey = Annotated[Principal, Depends(require(Role.VIEWER))]
EditorKey = Annotated[Principal, Depends(require(Role.EDITOR))]
ApproverKey = Annotated[Principal, Depends(require(Role.APPROVER))]
AdminKey = Annotated[Principal, Depends(require(Role.ADMIN))]
