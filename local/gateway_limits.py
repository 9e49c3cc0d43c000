"""What bounds the API in front of the function, as template.yaml deploys it: route-level throttles and
the function's reserved concurrency, read from the template and enforced by `GatewayLimits`.

API Gateway (HTTP API) keeps a token bucket per route: a route with `RouteSettings` of its own gets
that rate and burst, and beyond them answers 429 `{"message":"Too Many Requests"}` before the
function runs. Lambda runs at most the reserved concurrency at once; API Gateway turns a throttled
invocation into its bare 500 (template.yaml's FunctionThrottlesAlarm says why the burst must fit).

Only the routes with their own throttle are enforced here, not the stage's default: the local stack
serves one visitor (and the tests that fire bursts at it), and the point is that the warm-up route's
own small bucket keeps warm-ups from taking a real mint's place in the concurrency.
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html
https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from template_contract.reader import function_properties, load_template
from template_contract.values import NO_VALUE, defaults, evaluate

FUNCTION = "VendFunction"
WARM_ROUTE = "GET /api/warm"
# The SAM API's RouteSettings, and the signed-in API's stage's.
ROUTE_SETTINGS_HOLDERS = {"AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Stage"}


@dataclass
class TokenBucket:
    """API Gateway's throttle for one route: `burst` requests at once, refilled at `rate` per second."""

    rate: float
    burst: int
    _tokens: float = field(init=False)
    _at: float = field(init=False, default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self._tokens = float(self.burst)

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class GatewayLimits:
    """Route-level throttles and the reserved concurrency, thread-safe: `admit` a request on its route,
    then `enter` and `leave` around the invocation."""

    def __init__(
        self, route_throttles: Mapping[str, tuple[float, int]], reserved_concurrency: int | None
    ) -> None:
        self.route_throttles = dict(route_throttles)
        self.reserved_concurrency = reserved_concurrency
        self._buckets = {key: TokenBucket(rate, burst) for key, (rate, burst) in self.route_throttles.items()}
        self._lock = threading.Lock()
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Invocations running or waiting for the execution environment."""
        with self._lock:
            return self._in_flight

    def has_own_throttle(self, route_key: str) -> bool:
        return route_key in self._buckets

    def admit(self, route_key: str) -> bool:
        """False when the route's own throttle refuses the request (API Gateway's 429)."""
        bucket = self._buckets.get(route_key)
        if bucket is None:
            return True
        with self._lock:
            return bucket.take()

    def enter(self) -> bool:
        """Counts one invocation in; False (counted nothing) when the reserved concurrency is in use."""
        with self._lock:
            if self.reserved_concurrency is not None and self._in_flight >= self.reserved_concurrency:
                return False
            self._in_flight += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1


def gateway_limits(template: Path) -> GatewayLimits:
    """The limits template.yaml deploys, parameters at their defaults."""
    document = load_template(template)
    params = defaults(document)
    throttles: dict[str, tuple[float, int]] = {}
    for resource in (document.get("Resources") or {}).values():
        if isinstance(resource, dict) and resource.get("Type") in ROUTE_SETTINGS_HOLDERS:
            route_settings = evaluate(
                (resource.get("Properties") or {}).get("RouteSettings") or {}, params, document
            )
            for route_key, settings in route_settings.items():
                rate, burst = settings.get("ThrottlingRateLimit"), settings.get("ThrottlingBurstLimit")
                if rate is not None and burst is not None:
                    throttles[route_key] = (float(rate), int(burst))
    reserved = evaluate(
        function_properties(FUNCTION, template).get("ReservedConcurrentExecutions", NO_VALUE),
        params,
        document,
    )
    # Nothing written, or AWS::NoValue, or 0: the function reserves nothing.
    return GatewayLimits(throttles, None if reserved is NO_VALUE else int(reserved) or None)
