"""Runs a Lambda handler behind aiohttp the way API Gateway's HTTP API does (payload format 2.0).

`build_event` turns an aiohttp request into the event API Gateway would send, `LambdaContext` stands
in for the runtime's context object, and `LambdaAdapter` ties them together: it answers the routes
API Gateway would (404 `{"message":"Not Found"}` otherwise), calls the synchronous handler in a
thread as the Lambda runtime would, maps the result back to an HTTP response, and turns a crash
into API Gateway's own 500. It can also play API Gateway's throttle and add network latency, so
the page's handling of those can be exercised for real. Given the template's `GatewayLimits`, it
enforces the route-level throttles and the reserved concurrency as deployed, and `go_cold` makes the
next invocation pay an init of a given length first (the benchmark's cold start). With a JWT
authorizer (`local.jwt_authorizer`) and the routes it guards, it refuses as API Gateway does before
the function runs, and passes the accepted token's claims in `requestContext.authorizer`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import web

from local.gateway_limits import GatewayLimits

LambdaHandler = Callable[[dict[str, Any], Any], Mapping[str, Any]]
# (Authorization header or None, the route's scopes) -> JwtAuthorization | JwtRefusal
Authorize = Callable[[str | None, tuple[str, ...]], Any]
_T = TypeVar("_T")

# API Gateway passes these as text; anything else arrives base64-encoded with isBase64Encoded.
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "+json",
    "+xml",
)
# Hop-by-hop headers a proxy must not forward; aiohttp sets its own framing.
_DROP_RESPONSE_HEADERS = {"content-length", "transfer-encoding", "connection"}


class LambdaContext:
    """The attributes and method of the Python runtime's context object that handlers use."""

    def __init__(
        self,
        function_name: str,
        timeout_seconds: float,
        memory_limit_in_mb: int = 256,
        region: str = "us-east-1",
        account_id: str = "123456789012",
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = datetime.now(UTC).strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Counts down from the function timeout, like the runtime's."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _is_text(content_type: str) -> bool:
    content_type = content_type.lower()
    return any(marker in content_type for marker in _TEXT_TYPES)


def build_event(request: web.Request, body: bytes, route_key: str) -> dict[str, Any]:
    """The HTTP API payload-2.0 event for this request (the shape `sam local generate-event` shows)."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        # API Gateway folds repeated headers into one comma-joined value.
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    cookie_header = headers.pop("cookie", None)
    source_ip = request.remote or "127.0.0.1"
    # API Gateway appends its peer (CloudFront's edge, behind the distribution) to X-Forwarded-For
    # and states its own listener: a function must not take either as the viewer's identity.
    forwarded_for = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded_for}, {source_ip}" if forwarded_for else source_ip
    headers["x-forwarded-proto"] = request.scheme
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    if sockname:
        headers["x-forwarded-port"] = str(sockname[1])
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0].split(":")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": f"HTTP/{request.version.major}.{request.version.minor}",
                "sourceIp": source_ip,
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16] + "=",
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookie_header:
        event["cookies"] = [part.strip() for part in cookie_header.split(";") if part.strip()]
    if request.query:
        query: dict[str, str] = {}
        for name, value in request.query.items():
            query[name] = f"{query[name]},{value}" if name in query else value
        event["queryStringParameters"] = query
    if body:
        if _is_text(request.headers.get("Content-Type", "")):
            event["body"] = body.decode("utf-8", errors="replace")
        else:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def to_response(result: Mapping[str, Any]) -> web.Response:
    """Maps a handler result to HTTP as API Gateway does for payload 2.0."""
    if "statusCode" not in result:
        # Payload 2.0: a result without statusCode is taken as the JSON body of a 200.
        return web.Response(status=200, text=json.dumps(result), content_type="application/json")
    body_text = result.get("body") or ""
    body = base64.b64decode(body_text) if result.get("isBase64Encoded") else body_text.encode("utf-8")
    response = web.Response(status=int(result["statusCode"]), body=body)
    for name, value in (result.get("headers") or {}).items():
        if name.lower() not in _DROP_RESPONSE_HEADERS:
            response.headers[name] = str(value)
    if "content-type" not in {name.lower() for name in (result.get("headers") or {})}:
        response.headers["Content-Type"] = "application/json"
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


def _match_path(template: str, path: str) -> dict[str, str] | None:
    """Path parameters if `path` matches the route template, else None."""
    wanted = template.strip("/").split("/")
    actual = path.strip("/").split("/")
    params: dict[str, str] = {}
    for index, part in enumerate(wanted):
        if part.startswith("{") and part.endswith("+}"):
            rest = "/".join(actual[index:])
            if not rest:
                return None
            params[part[1:-2]] = rest
            return params
        if index >= len(actual):
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = actual[index]
        elif part != actual[index]:
            return None
    return params if len(actual) == len(wanted) else None


def gateway_error(status: int, message: str) -> web.Response:
    """API Gateway's own error shape, which differs from our handler's."""
    return web.json_response({"message": message}, status=status)


class LambdaAdapter:
    """An aiohttp handler that invokes a Lambda handler for the routes API Gateway would route."""

    def __init__(
        self,
        handler: LambdaHandler,
        route_keys: Collection[str] = ("$default",),
        *,
        function_name: str = "VendFunction",
        timeout_seconds: float = 10.0,
        latency_ms: float = 0.0,
        authorize: Authorize | None = None,
        protected_routes: Mapping[str, tuple[str, ...]] | None = None,
        limits: GatewayLimits | None = None,
    ) -> None:
        self._handler = handler
        self._limits = limits if limits is not None else GatewayLimits({}, None)
        # The JWT authorizer and the route keys it guards, with each route's required scopes.
        self._authorize = authorize
        self._protected = dict(protected_routes or {})
        # Who the authorizer let through, in order (subject, issued-at, expiry): tests read it.
        self.accepted_tokens: list[dict[str, str]] = []
        self._route_keys = frozenset(route_keys)
        self._function_name = function_name
        self._timeout_seconds = timeout_seconds
        self._lock = threading.Lock()
        # One execution environment: Lambda runs one invocation at a time in it, and the handler relies
        # on that (Powertools keeps the current event on the app object), so invocations queue here.
        self._environment = threading.Lock()
        self._throttle_remaining = 0
        self._crash_remaining = 0
        self._cold_init_s = 0.0
        self.latency_ms = latency_ms

    def throttle_next(self, count: int = 1) -> None:
        """The next `count` requests get API Gateway's 429, as the stage's throttle would give (routes
        with a throttle of their own keep theirs).

        Thread-safe: tests call it from outside the server's event loop.
        """
        with self._lock:
            self._throttle_remaining = count

    def crash_next(self, count: int = 1) -> None:
        """The next `count` invocations fail as a crashed or timed-out function does: API Gateway 500
        (on the routes under the stage's throttle, as `throttle_next`)."""
        with self._lock:
            self._crash_remaining = count

    def go_cold(self, init_ms: float) -> None:
        """No environment is warm: an invocation pays `init_ms` of init before it runs, as each new
        execution environment does, until one has finished its init."""
        with self._lock:
            self._cold_init_s = init_ms / 1000

    def reset_faults(self) -> None:
        """Clears injected throttles and crashes."""
        with self._lock:
            self._throttle_remaining = 0
            self._crash_remaining = 0

    def _take(self, fault: str) -> bool:
        with self._lock:
            remaining = getattr(self, fault)
            if remaining > 0:
                setattr(self, fault, remaining - 1)
                return True
            return False

    def route_key_for(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        """The route API Gateway would pick, and its path parameters.

        Exact `METHOD /path` beats `ANY /path`; `{name}` matches one segment and `{name+}` the rest
        of the path (greedy, as in `/api/{proxy+}`); `$default` catches the remainder.
        """
        best: tuple[int, str, dict[str, str]] | None = None
        for route_key in self._route_keys:
            if route_key == "$default":
                continue
            route_method, _, template = route_key.partition(" ")
            if route_method not in {method, "ANY"}:
                continue
            params = _match_path(template, path)
            if params is None:
                continue
            # More literal segments, then a specific method, win; greedy routes lose to exact ones.
            score = (
                (template.count("/") - template.count("{")) * 4
                + (route_method != "ANY") * 2
                - ("+}" in template)
            )
            if best is None or score > best[0]:
                best = (score, route_key, params)
        if best is not None:
            return best[1], best[2]
        if "$default" in self._route_keys:
            return "$default", {}
        return None

    def run_exclusively(self, work: Callable[[], _T]) -> _T:
        """Runs `work` in the execution environment, between invocations (another function's handler)."""
        with self._environment:
            return work()

    def _invoke(self, event: dict[str, Any], context: Any) -> Any:
        with self._environment:
            return self._handler(event, context)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The aiohttp handler: route it as `app.router.add_route("*", "/api/{tail:.*}", adapter.handle)`."""
        # Half the round trip before the gateway sees the request, half on the way back.
        half_delay = self.latency_ms / 2000
        if half_delay:
            await asyncio.sleep(half_delay)
        response = await self._respond(request)
        if half_delay:
            await asyncio.sleep(half_delay)
        return response

    async def _authorizer_for(
        self, request: web.Request, route_key: str
    ) -> dict[str, Any] | web.Response | None:
        """The event's `requestContext.authorizer` for a guarded route, or API Gateway's refusal."""
        if self._authorize is None or route_key not in self._protected:
            return None
        # In a thread: the first use fetches the issuer's discovery document and keys.
        outcome = await asyncio.to_thread(
            self._authorize, request.headers.get("Authorization"), self._protected[route_key]
        )
        if not hasattr(outcome, "event_authorizer"):  # a refusal: API Gateway's answer, not the function's
            return web.Response(
                status=outcome.status,
                text=outcome.body,
                headers=outcome.headers,
                content_type="application/json",
            )
        claims = outcome.claims
        with self._lock:
            self.accepted_tokens.append({key: claims.get(key, "") for key in ("sub", "iat", "exp", "jti")})
        authorizer: dict[str, Any] = outcome.event_authorizer()
        return authorizer

    async def _respond(self, request: web.Request) -> web.Response:
        route = self.route_key_for(request.method, request.path)
        if route is None:
            return gateway_error(404, "Not Found")
        route_key, path_parameters = route
        # Injected faults aim at the routes the page's calls use: a route with a throttle of its own
        # (the warm-up, sent unasked when the pointer reaches Connect) is outside them.
        aimed = not self._limits.has_own_throttle(route_key)
        if not self._limits.admit(route_key) or (aimed and self._take("_throttle_remaining")):
            return gateway_error(429, "Too Many Requests")
        authorizer = await self._authorizer_for(request, route_key)
        if isinstance(authorizer, web.Response):
            return authorizer
        body = await request.read()
        event = build_event(request, body, route_key)
        if authorizer is not None:
            event["requestContext"]["authorizer"] = authorizer
        if path_parameters:
            event["pathParameters"] = path_parameters
        if aimed and self._take("_crash_remaining"):
            return gateway_error(500, "Internal Server Error")
        return await self._integration(event)

    async def _integration(self, event: dict[str, Any]) -> web.Response:
        """Invokes the function as API Gateway's Lambda proxy integration does, within its timeout."""
        if not self._limits.enter():
            # Lambda throttled the invocation (reserved concurrency in use): API Gateway's bare 500.
            return gateway_error(500, "Internal Server Error")
        try:
            return await self._invoke_in_environment(event)
        finally:
            self._limits.leave()

    async def _invoke_in_environment(self, event: dict[str, Any]) -> web.Response:
        context = LambdaContext(self._function_name, self._timeout_seconds)
        loop = asyncio.get_running_loop()
        try:
            result = await asyncio.wait_for(self._after_init(event, context, loop), self._timeout_seconds)
        except TimeoutError:
            return gateway_error(503, "Service Unavailable")
        except Exception:  # API Gateway hides a crashed function behind a generic 500, so do we.
            return gateway_error(500, "Internal Server Error")
        return to_response(result)

    async def _after_init(self, event: dict[str, Any], context: Any, loop: asyncio.AbstractEventLoop) -> Any:
        with self._lock:
            init_s = self._cold_init_s
        if init_s:
            # A new environment's init: every invocation that finds none warm pays its own.
            await asyncio.sleep(init_s)
            with self._lock:
                self._cold_init_s = 0.0
        return await loop.run_in_executor(None, self._invoke, event, context)
