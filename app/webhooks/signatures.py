"""Standard Webhooks signatures of inbound events, checked by the `standardwebhooks`
library: HMAC-SHA256 over `webhook-id.webhook-timestamp.body`, any of several
space-separated signatures, timestamps within 5 minutes of now."""

import base64
import secrets
from collections.abc import Iterable, Mapping
from typing import Final

from standardwebhooks import Webhook, WebhookVerificationError

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES: Final = 32
SIGNATURE_HEADERS: Final = ("webhook-id", "webhook-timestamp", "webhook-signature")
# Checked when the tenant is unknown, so that answer takes as long as a wrong signature.
_DECOY: Final = secrets.token_bytes(SECRET_BYTES)


def new_secret() -> tuple[bytes, str]:
    """A fresh key and how it is shown to the admin (`whsec_` + base64)."""
    key = secrets.token_bytes(SECRET_BYTES)
    return key, SECRET_PREFIX + base64.b64encode(key).decode()


def signed_by_any(keys: Iterable[bytes], body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether the headers carry a valid, timely signature of `body` by one of `keys`
    (none: checked against a decoy key, and False)."""
    wanted = {name: headers.get(name, "") for name in SIGNATURE_HEADERS}
    candidates = list(keys)
    for key in candidates or [_DECOY]:
        try:
            Webhook(key).verify(body, wanted, json_parse=False)
        except WebhookVerificationError:
            continue
        return bool(candidates)
    return False
