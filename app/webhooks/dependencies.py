"""What the inbound routes receive: the time (replaceable in tests), and a signed
request's bytes read within the limit."""

from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import Depends, Path, Request

from app.core.errors import PayloadTooLarge
from app.core.i18n import Text
from app.webhooks.service import SignedRequest

# Events are small (one order, or a batch of up to 1,000 items); a body larger than this
# is refused before it is read whole.
MAX_EVENT_BYTES: Final = 1024 * 1024


async def clock() -> datetime:
    """Now; tests replace it (`app.dependency_overrides`) to step past a rotation. A
    coroutine: FastAPI runs a plain function dependency in its thread pool, which costs
    each inbound event two thread switches."""
    return datetime.now(UTC)


Now = Annotated[datetime, Depends(clock)]


async def signed_request(
    request: Request,
    tenant_slug: Annotated[str, Path(description="The tenant's slug (`huaxin`)")],
) -> SignedRequest:
    """The body exactly as sent (the signature is over these bytes), and the headers."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_EVENT_BYTES:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_EVENT_BYTES:
            raise _too_large()
    return SignedRequest(
        tenant_slug=tenant_slug,
        body=bytes(body),
        headers=request.headers,
        content_type=request.headers.get("content-type"),
    )


SignedEvent = Annotated[SignedRequest, Depends(signed_request)]


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        Text(
            f"webhook 请求体超过上限 {MAX_EVENT_BYTES} 字节",
            f"The webhook body exceeds the limit of {MAX_EVENT_BYTES} bytes",
        )
    )
