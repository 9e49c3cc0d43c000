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
from typing import Any

from template_contract.reader import load_template

FUNCTION = "VendFunction"
# The warm-up's route and the throttle it is specified with, used until template.yaml gives it one.
WARM_ROUTE = "GET /api/warm"
WARM_THROTTLE_FALLBACK = (2.0, 2)  # rate per second, burst


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


def gateway_limits(template: Path, route_keys: tuple[str, ...]) -> GatewayLimits:
    """The limits template.yaml deploys for these routes, parameters at their defaults."""
    document = load_template(template)
    resolve = _Resolver(document)
    throttles: dict[str, tuple[float, int]] = {}
    for resource in (document.get("Resources") or {}).values():
        if not isinstance(resource, dict) or resource.get("Type") not in {
            "AWS::Serverless::HttpApi",
            "AWS::ApiGatewayV2::Stage",
        }:
            continue
        for route_key, settings in ((resource.get("Properties") or {}).get("RouteSettings") or {}).items():
            rate = resolve.number((settings or {}).get("ThrottlingRateLimit"))
            burst = resolve.number((settings or {}).get("ThrottlingBurstLimit"))
            if rate is not None and burst is not None:
                throttles[route_key] = (rate, int(burst))
    if WARM_ROUTE in route_keys:
        throttles.setdefault(WARM_ROUTE, WARM_THROTTLE_FALLBACK)
    return GatewayLimits(throttles, _reserved_concurrency(document, resolve, throttles))


def _reserved_concurrency(
    document: dict[str, Any], resolve: _Resolver, throttles: Mapping[str, tuple[float, int]]
) -> int | None:
    """The function's ReservedConcurrentExecutions; None when it reserves nothing. If the template
    computes it in a way this reader cannot follow, the rule it must meet: the stage's burst plus
    every route-level burst."""
    properties = (document.get("Resources") or {}).get(FUNCTION, {}).get("Properties") or {}
    written = properties.get(
        "ReservedConcurrentExecutions",
        ((document.get("Globals") or {}).get("Function") or {}).get("ReservedConcurrentExecutions"),
    )
    if written is None:
        return None
    value = resolve.number(written)
    if value is None:
        stage = resolve.number({"Ref": "ThrottleBurstLimit"}) or 0
        return int(stage) + sum(burst for _, burst in throttles.values())
    return int(value) or None  # 0 reserves nothing


@dataclass
class _Resolver:
    """Resolves the intrinsic functions a number may be written with, parameters at their defaults;
    None for anything else."""

    document: dict[str, Any]

    def number(self, node: Any) -> float | None:
        value = self.value(node)
        try:
            return float(value) if value is not None and not isinstance(value, bool) else None
        except (TypeError, ValueError):
            return None

    def value(self, node: Any) -> Any:  # noqa: PLR0911 - one return per intrinsic function
        if not isinstance(node, dict):
            return node
        if len(node) != 1:
            return None
        [(function, argument)] = node.items()
        if function == "Ref":
            if argument == "AWS::NoValue":
                return None
            return (self.document.get("Parameters") or {}).get(argument, {}).get("Default")
        if function == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
            name, when_true, when_false = argument
            held = self.holds((self.document.get("Conditions") or {}).get(name))
            return None if held is None else self.value(when_true if held else when_false)
        if function == "Fn::FindInMap" and isinstance(argument, list) and len(argument) == 3:
            table, key, name = (self.value(part) for part in argument)
            found = ((self.document.get("Mappings") or {}).get(table) or {}).get(str(key)) or {}
            return found.get(str(name))
        return None

    def holds(self, node: Any) -> bool | None:  # noqa: PLR0911 - one return per condition function
        if not isinstance(node, dict) or len(node) != 1:
            return None
        [(function, argument)] = node.items()
        if function == "Fn::Equals":
            left, right = (self.value(side) for side in argument)
            return None if left is None or right is None else str(left) == str(right)
        if function == "Fn::Not":
            inner = self.holds(argument[0])
            return None if inner is None else not inner
        if function in {"Fn::And", "Fn::Or"}:
            parts = [self.holds(item) for item in argument]
            if None in parts:
                return None
            return all(parts) if function == "Fn::And" else any(parts)
        if function == "Condition":
            return self.holds((self.document.get("Conditions") or {}).get(argument))
        return None
