"""CORS as OpenAI's API answers it, so a page on another origin (port) can call us."""

from __future__ import annotations

from collections.abc import MutableMapping

from aiohttp import web
from aiohttp.typedefs import Handler

ALLOW_HEADERS = "Authorization, Content-Type"


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response: web.StreamResponse = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            _add_cors(exc.headers)
            raise
    _add_cors(response.headers)
    return response


def _add_cors(headers: MutableMapping[str, str]) -> None:
    headers["Access-Control-Allow-Origin"] = "*"
    headers["Access-Control-Expose-Headers"] = "Location"
