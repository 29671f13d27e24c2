"""Inbound webhooks: the tenant's secret, receiving a signed event, listing events.

A signed event is stored once per `webhook-id`, its activity is written in the same
transaction (idempotent by `external_id`, as the bulk endpoints write it), and each of
its customers gets a reclassification job (app/webhooks/tasks.py) — queued once per
customer however many events arrive before it runs (`queue.enqueue_once_many`). Nothing
waits for classification.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.activity.schemas import ActivityItem
from app.activity.service import COMPLAINTS, INTERACTIONS, ORDERS, ActivityKind, write_activity
from app.audit.service import record_event
from app.core.auth import Principal
from app.core.bulk import validate_items
from app.core.errors import InvalidInput, Unauthorized, UnsupportedMediaType
from app.core.i18n import Text, current_locale, locale_was_negotiated, normalise_locale
from app.core.json_body import read_json_body
from app.core.pagination import PageParams
from app.core.validation_messages import validation_message
from app.customers.repository import ids_by_code
from app.facts.today import tenant_zone
from app.jobs import queue
from app.models import InboundSecret, Role, Tenant, WebhookEvent
from app.webhooks import repository
from app.webhooks.schemas import WebhookBatch, WebhookEnvelope
from app.webhooks.signatures import new_secret, signed_by_any

RECLASSIFY_JOB: Final = "webhook.reclassify"
# Ahead of a run's chunks: one customer's reclassification is small and someone waits.
RECLASSIFY_PRIORITY: Final = 50
ROTATION_OVERLAP: Final = timedelta(hours=24)
MAX_WEBHOOK_ID: Final = 255
M = TypeVar("M", bound=BaseModel)

KINDS: Final[dict[str, ActivityKind]] = {
    "order.created": ORDERS,
    "order.updated": ORDERS,
    "interaction.created": INTERACTIONS,
    "complaint.created": COMPLAINTS,
}


class InvalidSignature(Unauthorized):
    """One answer for every reason an event is not believed, so that it tells a caller
    nothing (not even whether the tenant exists)."""

    slug = "invalid-signature"
    default_detail = Text(
        "webhook 签名无效、已过期或缺失(webhook-id、webhook-timestamp、webhook-signature)",
        "Missing, invalid or expired webhook signature "
        "(webhook-id, webhook-timestamp, webhook-signature)",
    )


@dataclass(frozen=True)
class RotatedSecret:
    """A new secret, shown once, and how long the one it replaced still verifies."""

    secret: str
    created_at: datetime
    previous_valid_until: datetime | None


async def rotate_secret(
    session: AsyncSession, principal: Principal, now: datetime
) -> RotatedSecret:
    """Create the tenant's inbound secret, or replace it: the replaced one keeps verifying
    for 24 hours (and the one before that stops at once)."""
    key, shown = new_secret()
    row = await repository.secret_of(session, principal.tenant_id)
    valid_until = now + ROTATION_OVERLAP if row is not None else None
    if row is None:
        row = InboundSecret(tenant_id=principal.tenant_id)
        session.add(row)
    else:
        row.previous_secret, row.previous_valid_until = row.secret, valid_until
    row.secret, row.created_at = key, now
    row.created_by_key_id, row.created_by = principal.api_key_id, principal.actor
    await session.flush()
    record_event(
        session,
        principal,
        entity_type="inbound_webhook_secret",
        entity_id=principal.tenant_id,
        action="rotate" if valid_until is not None else "create",
        after={"previous_valid_until": valid_until.isoformat() if valid_until else None},
    )
    return RotatedSecret(shown, now, valid_until)


@dataclass(frozen=True)
class Receipt:
    """The stored event, and whether it had been received before."""

    event: WebhookEvent
    duplicate: bool


@dataclass(frozen=True)
class SignedRequest:
    """An inbound request as it arrived: the bytes are what was signed."""

    tenant_slug: str
    body: bytes
    headers: Mapping[str, str]
    content_type: str | None


async def receive_event(session: AsyncSession, request: SignedRequest, now: datetime) -> Receipt:
    """Verify, validate and store one event with its activity, and queue its customers'
    reclassification; a delivery of a `webhook-id` already stored changes nothing."""
    tenant, secret = await _verified(session, request, now)
    webhook_id = request.headers["webhook-id"]
    envelope, items, batch = _parse(request.body)
    kind = KINDS[envelope.type]
    checked = await _checked_items(session, tenant.id, kind, items, batch)
    customers = sorted(set(checked.customers))
    stored = await repository.insert_event(
        session,
        WebhookEvent(
            tenant_id=tenant.id,
            webhook_id=webhook_id,
            event_type=envelope.type,
            items=len(items),
            customers_pending=len(customers),
        ),
        customers,
    )
    if stored is None:
        existing = await repository.event_by_webhook_id(session, tenant.id, webhook_id)
        assert existing is not None  # stored by a transaction that has committed
        return Receipt(existing, duplicate=True)
    principal = webhook_principal(tenant, secret, f"webhook:{webhook_id[:200]}")
    await _write_items(session, principal, kind, checked, batch)
    # In id order: two events naming the same customers lock their jobs in one order.
    await queue.enqueue_once_many(
        session,
        tenant_id=tenant.id,
        kind=RECLASSIFY_JOB,
        jobs=[(f"customer:{c}", {"customer_id": str(c)}) for c in customers],
        priority=RECLASSIFY_PRIORITY,
    )
    return Receipt(stored, duplicate=False)


async def _verified(
    session: AsyncSession, request: SignedRequest, now: datetime
) -> tuple[Tenant, InboundSecret]:
    """The tenant whose secret signed the request (401 otherwise, whatever the reason),
    which must then be JSON with a webhook-id we can store."""
    found = await repository.tenant_and_secret(session, request.tenant_slug)
    keys = _valid_keys(found[1], now) if found is not None else []
    if not signed_by_any(keys, request.body, request.headers) or found is None:
        raise InvalidSignature
    if not locale_was_negotiated.get():
        current_locale.set(normalise_locale(found[0].locale))
    if request.content_type and not _is_json(request.content_type):
        raise UnsupportedMediaType(
            Text(
                f"请求体须为 application/json,收到 {request.content_type}",
                f"The body must be application/json, not {request.content_type}",
            )
        )
    if len(request.headers["webhook-id"]) > MAX_WEBHOOK_ID:
        raise InvalidInput(
            Text(
                f"webhook-id 不能超过 {MAX_WEBHOOK_ID} 个字符",
                f"webhook-id must be at most {MAX_WEBHOOK_ID} characters",
            ),
            errors=[
                {"loc": ["header", "webhook-id"], "msg": "too long", "type": "string_too_long"}
            ],
        )
    return found


def webhook_principal(tenant: Tenant, secret: InboundSecret, actor: str) -> Principal:
    """Who acts for a signed event: the webhook, on the authority of the admin key that
    made the tenant's secret."""
    return Principal(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        tenant_time_zone=tenant.time_zone,
        api_key_id=secret.created_by_key_id,
        role=Role.EDITOR,
        actor=actor,
    )


def _valid_keys(secret: InboundSecret, now: datetime) -> list[bytes]:
    keys = [secret.secret]
    until = secret.previous_valid_until
    if secret.previous_secret is not None and until is not None and now < until:
        keys.append(secret.previous_secret)
    return keys


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _parse(body: bytes) -> tuple[WebhookEnvelope, list[dict[str, Any]], bool]:
    """The envelope and the items of its data (one, or a batch's); 422 at the offending
    member otherwise."""
    value = read_json_body(body)
    envelope = _validated(WebhookEnvelope, value, ["body"])
    if "items" in envelope.data:
        batch = _validated(WebhookBatch, envelope.data, ["body", "data"])
        return envelope, batch.items, True
    return envelope, [envelope.data], False


def _validated(model: type[M], value: Any, at: list[Any]) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise _invalid(
            [
                {"loc": [*at, *e["loc"]], "msg": validation_message(e), "type": e["type"]}
                for e in exc.errors(include_url=False, include_input=False)
            ]
        ) from None


def _invalid(errors: list[dict[str, Any]]) -> InvalidInput:
    return InvalidInput(
        Text(
            f"事件中有 {len(errors)} 处无效输入,未保存任何数据",
            f"{len(errors)} invalid input(s) in the event; nothing was saved",
        ),
        errors=errors,
    )


@dataclass(frozen=True)
class _CheckedItems:
    """An event's items, valid, and the customer of each (in the same order)."""

    items: list[ActivityItem]
    customers: list[uuid.UUID]


def _item_loc(batch: bool, index: int, loc: list[Any]) -> list[Any]:
    return ["body", "data", "items", index, *loc] if batch else ["body", "data", *loc]


async def _checked_items(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    kind: ActivityKind,
    items: list[dict[str, Any]],
    batch: bool,
) -> _CheckedItems:
    """Every item valid, naming a known customer and carrying an external_id of its own;
    else 422 listing each problem (an event is written whole or not at all)."""
    good, failed = validate_items(items, kind.model)
    errors = [d.under(*_item_loc(batch, e.index, [])) for e in failed for d in e.errors]
    if errors:
        raise _invalid(errors)
    models: list[ActivityItem] = [item for _, item in good]
    seen: set[str] = set()
    for index, item in enumerate(models):
        if item.external_id in seen:
            where = _item_loc(batch, index, ["external_id"])
            errors.append(_error(where, _REPEATED, "duplicate_external_id"))
        seen.add(item.external_id)
    known = await ids_by_code(session, tenant_id, {m.customer_code for m in models})
    for index, item in enumerate(models):
        if item.customer_code not in known:
            code = item.customer_code
            message = Text(f"客户编号 {code} 不存在", f"No customer with code {code}")
            where = _item_loc(batch, index, ["customer_code"])
            errors.append(_error(where, message, "unknown_customer"))
    if errors:
        raise _invalid(errors)
    return _CheckedItems(models, [known[m.customer_code] for m in models])


async def _write_items(
    session: AsyncSession,
    principal: Principal,
    kind: ActivityKind,
    checked: _CheckedItems,
    batch: bool,
) -> None:
    """Write the items as the bulk endpoints do (upserted by external_id, audited)."""
    zone = tenant_zone(principal)
    rows = [kind.row(item, zone) for item in checked.items]
    written = await write_activity(session, principal, kind, rows)
    if written.unknown:  # a customer deleted since the lookup: nothing is kept (422)
        raise _invalid(
            [
                _error(_item_loc(batch, i, ["customer_code"]), _GONE, "unknown_customer")
                for i in written.unknown
            ]
        )


_REPEATED = Text("本事件中 external_id 重复", "Duplicate external_id in this event")
_GONE = Text("客户已不存在", "The customer no longer exists")


def _error(loc: list[Any], message: Text, kind: str) -> dict[str, Any]:
    return {"loc": loc, "msg": message.get(), "type": kind}


async def list_events(
    session: AsyncSession, principal: Principal, status: str | None, page: PageParams
) -> tuple[list[WebhookEvent], str | None]:
    """One page of the tenant's received events, newest first (of one status, if given)."""
    return await repository.list_events(session, principal.tenant_id, status, page)
