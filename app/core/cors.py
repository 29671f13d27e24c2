"""Cross-origin calls from browsers (CORS), for the origins in `CRMC_CORS_ORIGINS`.

With no origin configured nothing is added: no CORS headers, so a browser lets only
pages of the service's own origin read its answers (the default of the web).
"""

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

# What a frontend sends besides the CORS-safelisted headers.
ALLOWED_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "Accept-Language",
    "If-Match",
    "Idempotency-Key",
    "X-Actor",
    "X-Request-ID",
)
# Response headers the service sets that a frontend needs to read (a browser hides all
# but a safelisted few unless they are exposed).
EXPOSED_RESPONSE_HEADERS = (
    "ETag",
    "Location",
    "X-Request-ID",
    "Idempotent-Replayed",
    "Retry-After",
    "Content-Disposition",
)
# How long a browser may cache a preflight answer, in seconds.
PREFLIGHT_MAX_AGE = 600


def install_cors(app: FastAPI, origins: list[str]) -> None:
    """Answer preflights and label responses for `origins`; nothing when there are none.

    Added last, so it is the outermost middleware: the problems the request edge writes
    itself (413, 500) carry the CORS headers too, and a browser can read them.
    """
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=ALLOWED_REQUEST_HEADERS,
        expose_headers=EXPOSED_RESPONSE_HEADERS,
        max_age=PREFLIGHT_MAX_AGE,
    )
