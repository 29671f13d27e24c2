"""The route class every API router uses: JSON bodies must be sent as JSON (415), and
are read by `read_json_body`, so no body gives a 500."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response, params
from fastapi.routing import APIRoute

from app.core.errors import UnsupportedMediaType
from app.core.i18n import Text
from app.core.json_body import read_json_body


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class _ParsedJsonRequest(Request):
    """A request whose JSON body the route has read already (FastAPI asks for it again)."""

    parsed: Any = None

    async def json(self) -> Any:
        return self.parsed


class ApiRoute(APIRoute):
    """Refuses a body in any media type other than JSON where the route reads JSON, and
    reads the JSON itself before FastAPI does.

    Without the first, FastAPI would try to validate e.g. a form post against the JSON
    model and answer 422, which hides the real mistake. Without the second, a body
    nested thousands deep, a number of 5,000 digits or invalid UTF-8 would be FastAPI's
    English 400 "There was an error parsing the body" (or a 500 where a route reads
    its body itself); here each is a localised 422 that says what is wrong.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        reads_json = self.body_field is not None and not isinstance(
            self.body_field.field_info, params.Form | params.File
        )
        if not reads_json:
            return handler

        async def checked(request: Request) -> Response:
            content_type = request.headers.get("content-type")
            if content_type and not _is_json(content_type):
                raise UnsupportedMediaType(
                    Text(
                        f"请求体须为 application/json,收到 {content_type}",
                        f"The body must be application/json, not {content_type}",
                    )
                )
            parsed = _ParsedJsonRequest(request.scope, request.receive)
            raw = await parsed.body()
            if raw:
                parsed.parsed = read_json_body(raw)
            return await handler(parsed)

        return checked
