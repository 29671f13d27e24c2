"""One signed POST to a receiver: the message, its Standard Webhooks signature, the
request to the checked address, and what came of it.

The body is `{"type", "timestamp", "data"}` (the Standard Webhooks payload shape);
`webhook-id` is the delivery's id, the same on every attempt and redelivery, so a
receiver can drop a message it has handled. Redirects are not followed (a 3xx is a
failed attempt): a redirect could point anywhere the guard refuses. Connections are not
kept alive between requests: one to an address made for one host name must not carry
another host's request.
"""

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from app.deliveries.addresses import Network, UnresolvableHost, UnsafeTarget, resolve

USER_AGENT = "crm-classifier-webhooks/1"


@dataclass(frozen=True)
class Message:
    """What one delivery sends."""

    webhook_id: str
    event_type: str
    occurred_at: datetime
    data: dict[str, Any]

    def body(self) -> str:
        return json.dumps(
            {"type": self.event_type, "timestamp": self.occurred_at.isoformat(), "data": self.data},
            ensure_ascii=False,
            separators=(",", ":"),
        )


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.error is None

    @property
    def gone(self) -> bool:
        """The receiver said the endpoint no longer exists (410): stop sending to it."""
        return self.status_code == 410


def client(timeout_seconds: float) -> httpx.AsyncClient:
    """An HTTP client for deliveries: no redirects, no proxies from the environment, no
    connections kept for another request."""
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(timeout_seconds),
        limits=httpx.Limits(max_keepalive_connections=0),
    )


async def deliver(
    http: httpx.AsyncClient,
    url: str,
    secret: str,
    message: Message,
    allowed: Sequence[Network],
    timeout_seconds: float,
) -> Outcome:
    """Sign and POST `message` to `url` (resolved and checked now); never raises for
    what the network or the receiver does."""
    attempted_at = datetime.now(UTC)
    started = time.perf_counter()
    status_code, error = await _post(http, url, secret, message, allowed, timeout_seconds)
    latency_ms = round((time.perf_counter() - started) * 1000)
    return Outcome(attempted_at, status_code, latency_ms, error)


async def _post(
    http: httpx.AsyncClient,
    url: str,
    secret: str,
    message: Message,
    allowed: Sequence[Network],
    timeout_seconds: float,
) -> tuple[int | None, str | None]:
    try:
        target = await resolve(url, allowed)
    except UnsafeTarget as exc:
        return None, f"refused: {exc.reason.en}"
    except UnresolvableHost as exc:
        return None, f"cannot resolve host: {exc}"
    body = message.body()
    now = datetime.now(UTC)
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message.webhook_id, now, body),
    }
    request = http.build_request(
        "POST",
        target.request_url,
        content=body.encode(),
        headers=headers,
        extensions=target.extensions,
    )
    try:
        # httpx's timeout is per phase (connect, each read); the attempt as a whole is
        # bounded too, so a receiver trickling bytes cannot hold a sender.
        async with asyncio.timeout(timeout_seconds):
            response = await http.send(request, stream=True)
            await response.aclose()  # the body is not read: its size is the receiver's
    except TimeoutError:
        return None, f"timed out after {timeout_seconds:g} s"
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"
