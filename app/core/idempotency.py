"""`Idempotency-Key` on POSTs that start work.

The first request with a key runs and its response is stored in the same transaction as
its work; a retry with the same key and the same body gets the stored response back
without doing anything; the same key with a different body is a 422. A concurrent retry
waits on the primary key until the first commits, then replays (or, if the first rolled
back, runs itself) — so the work happens at most once without a lock of our own.
"""

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert

from app.core.auth import Principal
from app.core.deps import Session
from app.core.errors import InvalidInput
from app.core.i18n import Text
from app.models import IdempotencyRecord

RETENTION = timedelta(hours=24)

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Makes retries safe: the same key and body replay the first response.",
    ),
]


class Idempotency:
    """Per-request helper; see the module docstring."""

    def __init__(
        self, request: Request, session: Session, key: IdempotencyKeyHeader = None
    ) -> None:
        self.request = request
        self.session = session
        self.key = key

    async def replay(self, principal: Principal, body: Any) -> JSONResponse | None:
        """The stored response of an earlier request with this key, or None to go ahead."""
        if self.key is None:
            return None
        self._tenant_id = principal.tenant_id
        self._hash = hashlib.sha256(
            json.dumps(
                [self.request.method, self.request.url.path, jsonable_encoder(body)],
                sort_keys=True,
                separators=(",", ":"),
            ).encode()
        ).digest()
        # Placeholder row: takes the key now, so a concurrent twin blocks until we commit.
        inserted = await self.session.scalar(
            insert(IdempotencyRecord)
            .values(
                tenant_id=principal.tenant_id,
                key=self.key,
                method=self.request.method,
                path=self.request.url.path,
                request_hash=self._hash,
                status_code=0,
                response_body=None,
            )
            .on_conflict_do_nothing()
            .returning(IdempotencyRecord.key)
        )
        if inserted is not None:
            return None
        stored = await self.session.get(
            IdempotencyRecord, (principal.tenant_id, self.key), populate_existing=True
        )
        assert stored is not None
        if stored.created_at < datetime.now(UTC) - RETENTION:
            await self.session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.tenant_id == principal.tenant_id,
                    IdempotencyRecord.key == self.key,
                )
            )
            return await self.replay(principal, body)
        if stored.request_hash != self._hash:
            raise InvalidInput(
                Text(
                    "该 Idempotency-Key 已用于另一个不同的请求",
                    "This Idempotency-Key was already used for a different request",
                ),
                errors=[
                    {
                        "loc": ["header", "Idempotency-Key"],
                        "msg": "key reused with a different request",
                        "type": "idempotency_key_reused",
                    }
                ],
            )
        return JSONResponse(
            stored.response_body,
            status_code=stored.status_code,
            headers={"Idempotent-Replayed": "true"},
        )

    async def remember(self, status_code: int, content: Any) -> JSONResponse:
        """Store the response (when a key was given) and return it."""
        body = jsonable_encoder(content)
        if self.key is not None:
            record = await self.session.get(IdempotencyRecord, (self._tenant_id, self.key))
            assert record is not None
            record.status_code = status_code
            record.response_body = body
            await self.session.flush()
        return JSONResponse(body, status_code=status_code)


IdempotencyDep = Annotated[Idempotency, Depends()]
