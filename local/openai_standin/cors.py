"""CORS as OpenAI's API answers it, so a page on another origin (port) can call us.

The preflight allows the request headers OpenAI's own browser clients send, and no others:
@openai/agents-realtime's WebRTC transport sends Authorization, Content-Type and
X-OpenAI-Agents-SDK; openai-node (with `dangerouslyAllowBrowser`) sends Accept, the X-Stainless-*
family, and OpenAI-Organization/OpenAI-Project when set. OpenAI-Beta and OpenAI-Safety-Identifier
are OpenAI's documented request headers. Anything else is refused, as api.openai.com refused an
`originator` header (openclaw/openclaw#76435): the browser then blocks the request before it is sent.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from aiohttp import web
from aiohttp.typedefs import Handler

ALLOWED_REQUEST_HEADERS = frozenset(
    {
        "accept",
        "authorization",
        "content-type",
        "openai-beta",
        "openai-organization",
        "openai-project",
        "openai-safety-identifier",
        "x-openai-agents-sdk",
    }
)
ALLOWED_REQUEST_HEADER_PREFIXES = ("x-stainless-",)  # the Stainless SDKs' telemetry headers


def _is_allowed(name: str) -> bool:
    """`name` stripped and lower-cased, as _allow_headers passes it."""
    return name in ALLOWED_REQUEST_HEADERS or name.startswith(ALLOWED_REQUEST_HEADER_PREFIXES)


def _allow_headers(requested: str) -> str:
    """The requested headers we allow (a prefix cannot be listed, so allowed names are echoed)."""
    names = [name.strip().lower() for name in requested.split(",") if name.strip()]
    allowed = [name for name in names if _is_allowed(name)]
    return ", ".join(allowed or sorted(ALLOWED_REQUEST_HEADERS))


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response: web.StreamResponse = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = _allow_headers(
            request.headers.get("Access-Control-Request-Headers", "")
        )
        response.headers["Access-Control-Max-Age"] = "600"
        # The answer depends on the requested headers, so a cache must not reuse it for others.
        response.headers["Vary"] = "Access-Control-Request-Headers"
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
