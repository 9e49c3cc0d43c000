"""Warm-ups never take a real mint's place: the page's `GET /api/warm` (sent when the pointer reaches
Connect) has a small route-level throttle of its own, and the function's reserved concurrency leaves
room for the mints beside it. The local API Gateway stand-in enforces both as template.yaml deploys them.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web

from local.gateway_limits import WARM_ROUTE, GatewayLimits, gateway_limits
from local.lambda_adapter import LambdaAdapter
from local.stack import StackProcess
from template_contract.reader import TEMPLATE

MINT_ROUTE = "ANY /api/session"
ROUTES = (MINT_ROUTE, WARM_ROUTE)
WARM_UPS = 12


def _slow_function(event: dict[str, Any], _: Any) -> Mapping[str, Any]:
    # Long enough that every request of a burst is in flight at once (they queue for the environment).
    time.sleep(0.05)
    status = 204 if event["rawPath"] == "/api/warm" else 200
    return {"statusCode": status, "body": ""}


async def _burst(limits: GatewayLimits) -> tuple[Counter[int], int]:
    """WARM_UPS warm-ups at once, then a mint while they are in flight: their statuses and the mint's."""
    adapter = LambdaAdapter(_slow_function, ROUTES, limits=limits)
    app = web.Application()
    app.router.add_route("*", "/api/{tail:.*}", adapter.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with aiohttp.ClientSession() as client:

            async def status(method: str, path: str) -> int:
                async with client.request(method, base + path) as response:
                    return response.status

            warm_ups = [asyncio.create_task(status("GET", "/api/warm")) for _ in range(WARM_UPS)]
            while limits.in_flight == 0:  # the admitted warm-ups hold the environment
                await asyncio.sleep(0.005)
            minted = await status("POST", "/api/session")
            return Counter(await asyncio.gather(*warm_ups)), minted
    finally:
        await runner.cleanup()


def test_the_stand_in_reads_the_warm_ups_throttle_and_the_reserved_concurrency() -> None:
    limits = gateway_limits(TEMPLATE)

    rate, burst = limits.route_throttles[WARM_ROUTE]
    assert rate <= 2 and burst <= 2  # the route's spec: a small throttle (burst 2, 2 a second)
    assert limits.reserved_concurrency is not None
    assert limits.reserved_concurrency > burst  # room for mints beside a full burst of warm-ups


async def test_a_burst_of_warm_ups_refuses_no_mint() -> None:
    # Given the template's limits (a reserved concurrency, the warm-up's own throttle)
    limits = gateway_limits(TEMPLATE)

    # When a burst of warm-ups arrives and a mint follows while they run
    warm_ups, minted = await _burst(limits)

    # Then the mint is served; the warm-ups beyond their burst get API Gateway's 429, and none of
    # them finds the concurrency used up
    assert minted == 200
    assert set(warm_ups) <= {204, 429}
    assert 1 <= warm_ups[204] <= limits.route_throttles[WARM_ROUTE][1]


async def test_without_their_own_throttle_warm_ups_would_starve_a_mint() -> None:
    # Given the same reserved concurrency but no route-level throttle: the burst is not bounded
    reserved = gateway_limits(TEMPLATE).reserved_concurrency
    assert reserved is not None and reserved < WARM_UPS

    warm_ups, minted = await _burst(GatewayLimits({}, reserved))

    # Then Lambda throttles the mint (API Gateway's bare 500): what the route's throttle prevents
    assert minted == 500
    assert warm_ups[500] == WARM_UPS - reserved


@pytest.fixture(scope="module")
def stack() -> Iterator[StackProcess]:
    env = {name: value for name, value in os.environ.items() if name != "OPENAI_API_KEY"}  # the stand-in
    with StackProcess("--port", "0", env=env, quota_per_visitor=100) as process:
        yield process


def _request(base_url: str, method: str, path: str) -> tuple[int, Any]:
    """One request through the CloudFront stand-in, as the page's fetch sends it: (status, JSON body)."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    try:
        body = b"{}" if method == "POST" else None
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        connection.close()


def test_a_burst_of_warm_ups_refuses_no_real_mint(stack: StackProcess) -> None:
    # When a page-load's worth of visitors' warm-ups arrive at once with a real mint among them
    with ThreadPoolExecutor(max_workers=WARM_UPS + 1) as pool:
        warm_ups = [pool.submit(_request, stack.url, "GET", "/api/warm") for _ in range(WARM_UPS)]
        minted = pool.submit(_request, stack.url, "POST", "/api/session")
        statuses = Counter(future.result()[0] for future in warm_ups)
        status, body = minted.result()

    # Then the mint gets its client secret, and the warm-ups only ever 204 or API Gateway's 429
    assert status == 200, body
    assert body["value"].startswith("ek_")
    assert set(statuses) <= {204, 429}
    assert statuses[204] >= 1
