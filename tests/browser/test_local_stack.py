"""The local stack's own parts: the API Gateway adapter, the page headers and the stand-in's CORS.

They decide whether the browser suite tests what production does, so they are checked against the
real shapes: the lead's recorded events/, the CloudFront policy in template.yaml, and what Chromium
decides about a cross-origin request to the stand-in.
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.sync_api import BrowserContext, Page

from local.lambda_adapter import LambdaAdapter
from template_contract.page_headers import page_headers
from template_contract.reader import TEMPLATE, TemplateError
from tests.browser.conftest import PageRecord, Stack
from tests.browser.helpers import connect
from tests.conftest import load_event

Handler = Callable[[dict[str, Any], Any], Mapping[str, Any]]
ROUTES = ("ANY /api/session", "ANY /api/{proxy+}")


def _run(adapter: LambdaAdapter, scenario: Callable[[TestClient[Any, Any]], Awaitable[None]]) -> None:
    async def main() -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{tail:.*}", adapter.handle)
        async with TestClient(TestServer(app)) as client:
            await scenario(client)

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, main()).result()


def _recording_handler(seen: list[tuple[dict[str, Any], Any]], result: Mapping[str, Any]) -> Handler:
    def handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
        seen.append((event, context))
        return result

    return handler


def test_the_page_mints_through_the_cloudfront_standin(page: Page, page_record: PageRecord) -> None:
    connect(page)

    mints = [r for r in page_record.responses if r.url.endswith("/api/session")]
    assert [r.status for r in mints] == [200]
    # What made it past the function's site checks: the browser's own same-origin marks.
    sent = mints[0].request.all_headers()
    assert sent["sec-fetch-site"] == "same-origin"
    assert "x-origin-verify" not in sent  # the browser never holds the origin secret


def test_the_execute_api_url_answers_403_forbidden(stack: Stack) -> None:
    request = urllib.request.Request(  # noqa: S310 - the stack's loopback URL
        f"{stack.execute_api}api/session",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=15)  # noqa: S310

    assert refused.value.code == 403
    assert json.loads(refused.value.read())["error"]["code"] == "forbidden"


def test_page_headers_render_the_cloudfront_policy_with_the_realtime_origin() -> None:
    headers = page_headers("http://127.0.0.1:9999")

    assert headers["Content-Security-Policy"] == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self' blob: mediastream:; connect-src 'self' http://127.0.0.1:9999; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"
    )
    assert headers["Strict-Transport-Security"].startswith("max-age=63072000; includeSubDomains")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Permissions-Policy"] == "microphone=(self), camera=(), geolocation=()"


def test_a_template_header_the_local_stack_cannot_render_stops_it_rather_than_being_dropped(
    tmp_path: Path,
) -> None:
    # X-XSS-Protection is deprecated and the template does not set it; if it ever did, the local page
    # must not silently run under a different policy than production's.
    text = TEMPLATE.read_text(encoding="utf-8")
    marker = "          FrameOptions: "  # the next header of SecurityHeadersConfig, flow-styled
    assert marker in text
    template = tmp_path / "template.yaml"
    xss = "          XSSProtection:\n            Override: true\n            Protection: true\n"
    template.write_text(text.replace(marker, xss + marker), encoding="utf-8")

    with pytest.raises(TemplateError, match="XSSProtection"):
        page_headers("http://127.0.0.1:9999", template)


def test_adapter_builds_the_payload_2_0_event_api_gateway_sends() -> None:
    seen: list[tuple[dict[str, Any], Any]] = []
    ok = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}
    adapter = LambdaAdapter(_recording_handler(seen, ok), ROUTES, timeout_seconds=10)

    async def scenario(client: TestClient[Any, Any]) -> None:
        response = await client.post(
            "/api/session?a=1&a=2",
            data=b"{}",
            headers={"Content-Type": "application/json", "Cookie": "x=1; y=2", "X-Twice": "one"},
        )
        assert response.status == 200

    _run(adapter, scenario)
    event, context = seen[0]
    recorded = load_event("mint")
    # the same keys as a recorded event (plus what this request has and that one lacks)
    assert set(recorded) - {"body"} <= set(event)
    assert set(recorded["requestContext"]) <= set(event["requestContext"])
    assert set(recorded["requestContext"]["http"]) == set(event["requestContext"]["http"])
    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "ANY /api/session"
    assert event["rawPath"] == "/api/session"
    assert event["rawQueryString"] == "a=1&a=2"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["cookies"] == ["x=1", "y=2"]
    assert "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["body"] == "{}"
    assert event["isBase64Encoded"] is False
    assert 0 < context.get_remaining_time_in_millis() <= 10_000
    assert context.invoked_function_arn.endswith(f":function:{context.function_name}")


def test_adapter_base64_encodes_binary_bodies_and_matches_greedy_routes() -> None:
    seen: list[tuple[dict[str, Any], Any]] = []
    binary_result = {
        "statusCode": 200,
        "body": base64.b64encode(b"\x00\x01").decode(),
        "isBase64Encoded": True,
    }
    adapter = LambdaAdapter(_recording_handler(seen, binary_result), ROUTES)

    async def scenario(client: TestClient[Any, Any]) -> None:
        response = await client.put(
            "/api/other/thing", data=b"\xff\x00", headers={"Content-Type": "application/octet-stream"}
        )
        assert await response.read() == b"\x00\x01"

    _run(adapter, scenario)
    event, _ = seen[0]
    assert event["routeKey"] == "ANY /api/{proxy+}"
    assert event["pathParameters"] == {"proxy": "other/thing"}
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00"


def test_adapter_answers_like_api_gateway_for_throttles_crashes_and_unknown_routes() -> None:
    def crashing(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
        raise RuntimeError("boom")

    throttled = LambdaAdapter(_recording_handler([], {"statusCode": 200, "body": ""}), ("ANY /api/session",))
    throttled.throttle_next(1)
    crashed = LambdaAdapter(crashing, ("ANY /api/session",))

    async def throttle_scenario(client: TestClient[Any, Any]) -> None:
        first = await client.post("/api/session")
        assert (first.status, json.loads(await first.text())) == (429, {"message": "Too Many Requests"})
        second = await client.post("/api/session")
        assert second.status == 200
        unknown = await client.get("/api/nothing-here")
        assert (unknown.status, json.loads(await unknown.text())) == (404, {"message": "Not Found"})

    async def crash_scenario(client: TestClient[Any, Any]) -> None:
        response = await client.post("/api/session")
        assert (response.status, json.loads(await response.text())) == (
            500,
            {"message": "Internal Server Error"},
        )

    _run(throttled, throttle_scenario)
    _run(crashed, crash_scenario)


# What Chromium's fetch() does with the headers OpenAI's browser clients put on a request to
# /v1/realtime/calls: @openai/agents-realtime's WebRTC transport, and openai-node in a browser.
_FETCH_WITH_HEADERS = """async ({url, attempts}) => {
  const outcome = {};
  for (const [name, headers] of Object.entries(attempts)) {
    try {
      outcome[name] = (await fetch(url, {method: 'POST', headers, body: 'v=0'})).status;
    } catch (error) {
      outcome[name] = error.name;  // a refused preflight: the request never left the browser
    }
  }
  return outcome;
}"""


def test_chromium_sends_the_headers_of_openais_browser_sdks_to_the_standin(
    stack: Stack, context: BrowserContext
) -> None:
    bearer = {"Authorization": "Bearer ek_not_minted", "Content-Type": "application/sdp"}
    attempts = {
        "agents-realtime": {**bearer, "X-OpenAI-Agents-SDK": "openai-agents-sdk.0.20.0"},
        "openai-node": {
            **bearer,
            "Accept": "application/json",
            "X-Stainless-Lang": "js",
            "X-Stainless-Package-Version": "6.0.0",
            "X-Stainless-OS": "Unknown",
            "X-Stainless-Arch": "unknown",
            "X-Stainless-Runtime": "browser:chrome",
            "X-Stainless-Runtime-Version": "156.0.0",
            "X-Stainless-Retry-Count": "0",
            "OpenAI-Project": "proj_x",
        },
        "beta-header": {**bearer, "OpenAI-Beta": "realtime=v1"},
        "originator": {**bearer, "originator": "some-app"},
    }
    # The bare `context`, not `page`: the refused preflight logs a console error, on purpose.
    page = context.new_page()
    page.goto(f"{stack.url}config.json")  # any page of ours: another origin than the stand-in's
    outcome = page.evaluate(
        _FETCH_WITH_HEADERS, {"url": f"{stack.standin.url}/v1/realtime/calls", "attempts": attempts}
    )

    # The stand-in saw them (and refused the unminted ek_, or the beta header, as OpenAI does) ...
    assert outcome["agents-realtime"] == 401
    assert outcome["openai-node"] == 401
    assert outcome["beta-header"] in {400, 401}
    # ... but not a header OpenAI's preflight refuses.
    assert outcome["originator"] == "TypeError"
