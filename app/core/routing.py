"""The route class every API router uses: JSON bodies must be sent as JSON (415)."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response, params
from fastapi.routing import APIRoute

from app.core.errors import InvalidInput, UnsupportedMediaType
from app.core.i18n import Text
from app.core.json_depth import json_nesting_depth


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class ApiRoute(APIRoute):
    """Refuses a body in any media type other than JSON where the route reads JSON.

    Without this, FastAPI would try to validate e.g. a form post against the JSON model and
    answer 422, which hides the real mistake.
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
            return await handler(request)

        return checked


class NestingGuardedRoute(ApiRoute):
    """For bodies that hold rules: refuses absurd nesting before the JSON is parsed.

    Python's JSON parser recurses, so a body nested thousands deep would exhaust the
    stack inside the framework; scanning the raw bytes first turns it into a clear 422.
    """

    max_nesting = 64

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            if request.method in ("POST", "PUT", "PATCH"):
                depth = json_nesting_depth(await request.body(), stop_after=self.max_nesting)
                if depth > self.max_nesting:
                    raise InvalidInput(
                        Text(
                            f"JSON 嵌套超过 {self.max_nesting} 层",
                            f"The JSON body nests deeper than {self.max_nesting} levels",
                        ),
                        errors=[{"loc": ["body"], "msg": "nesting too deep", "type": "too_deep"}],
                    )
            return await handler(request)

        return guarded
