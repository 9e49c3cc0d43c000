"""The page's origin: web/ under the production security headers, a generated config.json, `/api/*`
through the CloudFront stand-in, and the stack's test controls under `/__local/`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from local.cloudfront import CloudFrontStandin
from local.lambda_adapter import LambdaAdapter
from local.page_files import add_folder, add_page_files

# The operator function's answer to an event (the kill switch), or its failure as an exception.
Operator = Callable[[Any], Awaitable[Any]]


def page_app(
    *,
    headers: Mapping[str, str],
    config: Mapping[str, Any],
    adapter: LambdaAdapter,
    cloudfront: CloudFrontStandin,
    operator: Operator,
    extra_static: Mapping[str, Path],
) -> web.Application:
    """The page's aiohttp app; `headers` are the page's security headers, `config` its config.json."""

    async def config_json(_: web.Request) -> web.Response:
        return web.json_response(config)

    async def control_faults(request: web.Request) -> web.Response:
        patch = await request.json()
        if not isinstance(patch, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        if "throttle_next" in patch:
            adapter.throttle_next(int(patch["throttle_next"]))
        if "crash_next" in patch:
            adapter.crash_next(int(patch["crash_next"]))
        if "api_latency_ms" in patch:
            adapter.latency_ms = float(patch["api_latency_ms"])
        if "cold_start_ms" in patch:
            adapter.go_cold(float(patch["cold_start_ms"]))
        if patch.get("reset"):
            adapter.reset_faults()
        return web.json_response({"ok": True})

    async def control_operator(request: web.Request) -> web.Response:
        event = await request.json() if request.can_read_body else {"action": "end_all_calls"}
        try:
            result = await operator(event)
        except Exception as exc:  # the function's failure, as `aws lambda invoke` reports one
            return web.json_response({"errorType": type(exc).__name__, "errorMessage": str(exc)}, status=500)
        return web.json_response(result)

    async def accepted_tokens(_: web.Request) -> web.Response:
        return web.json_response(adapter.accepted_tokens)

    app = web.Application(middlewares=[_security_headers_middleware(headers)])
    app.router.add_get("/config.json", config_json)
    app.router.add_route("*", "/api/{tail:.*}", cloudfront.handle)
    # Fault injection for tests: API Gateway throttles and crashed invocations on demand.
    app.router.add_post("/__local/faults", control_faults)
    # The kill switch, as `aws lambda invoke --function-name <OperatorFunction>` runs it deployed.
    app.router.add_post("/__local/operator", control_operator)
    # Signed-in mode, for tests: whom the JWT authorizer let through (subject, iat, exp, jti).
    app.router.add_get("/__local/authorizer", accepted_tokens)
    for prefix, folder in extra_static.items():
        add_folder(app.router, prefix, folder)
    add_page_files(app.router)
    return app


def _security_headers_middleware(headers: Mapping[str, str]) -> Any:
    @web.middleware
    async def add_headers(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as exc:
            response = exc
        # /api/* is API Gateway's behaviour in CloudFront; the page policy applies to the page.
        if not request.path.startswith("/api/"):
            response.headers.update(headers)
            response.headers.setdefault("Cache-Control", "no-cache")
        return response

    return add_headers
