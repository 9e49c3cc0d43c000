"""Relayed calls through the local stack, as a page makes them: POST /api/call with an SDP offer.

The stack runs in relay mode with a 10-second cap and one call per visitor. The browser is an aiortc
peer (tests.standin.realtime_client); each test is its own visitor, a loopback address of its own, as
CloudFront-Viewer-Address tells the function. The cap is real: moto stores the call's schedule and
the local scheduler invokes the hangup function at its time, which hangs the call up at the stand-in.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import boto3
import pytest
from aiortc import RTCSessionDescription

from local.stack import StackProcess
from tests.conftest import standin_env
from tests.standin.realtime_client import RealtimeClient, eventually

MAX_CALL_SECONDS = 10
LOCATION = re.compile(r"/api/call/(call_[0-9a-f]{32})")


@pytest.fixture(scope="module")
def relay_stack() -> Iterator[StackProcess]:
    with StackProcess(
        "--port", "0", env=standin_env(), mode="relay", max_call_seconds=MAX_CALL_SECONDS, concurrent_calls=1
    ) as process:
        yield process


@pytest.fixture(scope="module")
def default_stack() -> Iterator[StackProcess]:
    with StackProcess("--port", "0", env=standin_env()) as process:
        yield process


@dataclass
class Answer:
    status: int
    text: str
    headers: dict[str, str]
    json: Any = None

    @property
    def code(self) -> str | None:
        return self.json["error"]["code"] if isinstance(self.json, dict) and "error" in self.json else None


async def send(
    stack: StackProcess,
    visitor: str,
    method: str,
    path: str,
    body: str | bytes | None = None,
    content_type: str = "application/sdp",
    *,
    base: str | None = None,
) -> Answer:
    """One request from the loopback address `visitor`, with the marks a page's own fetch carries.

    To the page's URL (through the CloudFront stand-in) unless `base` names another.
    """
    origin = stack.url.rstrip("/")
    headers = {"Origin": origin, "Sec-Fetch-Site": "same-origin"}
    if body is not None:
        headers["Content-Type"] = content_type
    connector = aiohttp.TCPConnector(local_addr=(visitor, 0), force_close=True)
    url = f"{(base or stack.url).rstrip('/')}{path}"
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.request(method, url, data=body, headers=headers) as response,
    ):
        text = await response.text()
        parsed = await response.json() if response.content_type == "application/json" else None
        return Answer(response.status, text, dict(response.headers), parsed)


@dataclass
class Call:
    client: RealtimeClient
    call_id: str
    ends_at: int
    answer: Answer


async def start_call(stack: StackProcess, visitor: str) -> Call:
    """The page's relay flow: offer to /api/call, the answer into the peer, wait for the session."""
    client = RealtimeClient()
    answer = await send(stack, visitor, "POST", "/api/call", await client.offer())
    if answer.status != 201:
        await client.close()
        raise AssertionError(f"{answer.status} {answer.text}")
    match = LOCATION.fullmatch(answer.headers["Location"])
    assert match, answer.headers["Location"]
    await client.pc.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
    await client.wait_for_type("session.created")
    return Call(client, match.group(1), int(answer.headers["Call-Ends-At"]), answer)


async def standin_calls(stack: StackProcess) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stack.standin_url}/__standin/state") as response,
    ):
        state: dict[str, Any] = await response.json()
    return list(state["calls"])


def closed(client: RealtimeClient) -> bool:
    return client.channel.readyState == "closed" and client.pc.connectionState == "closed"


def schedules(stack: StackProcess) -> set[str]:
    client = boto3.client(
        "scheduler",
        endpoint_url=stack.ready["aws_endpoint"],
        region_name=stack.ready["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto's fake credentials
    )
    listed = client.list_schedules(GroupName=stack.ready["schedule_group"])["Schedules"]
    return {schedule["Name"] for schedule in listed}


async def test_the_page_is_told_the_mode_and_the_other_endpoint_is_off(
    relay_stack: StackProcess, default_stack: StackProcess
) -> None:
    relay_config = await send(relay_stack, "127.0.0.20", "GET", "/config.json")
    default_config = await send(default_stack, "127.0.0.20", "GET", "/config.json")
    session_in_relay = await send(
        relay_stack, "127.0.0.20", "POST", "/api/session", b"{}", "application/json"
    )
    call_by_default = await send(default_stack, "127.0.0.20", "POST", "/api/call", "v=0\r\n")

    assert (relay_config.json["callMode"], relay_config.json["callUrl"]) == ("relay", "/api/call")
    assert (default_config.json["callMode"], default_config.json["callUrl"]) == ("client_secret", "/api/call")
    assert (session_in_relay.status, session_in_relay.code) == (404, "not_enabled")
    assert (call_by_default.status, call_by_default.code) == (404, "not_enabled")


async def test_the_execute_api_url_refuses_calls_that_did_not_come_through_cloudfront(
    relay_stack: StackProcess,
) -> None:
    client = RealtimeClient()
    offer = await client.offer()
    await client.close()
    base = relay_stack.execute_api
    upstream_before = len(await standin_calls(relay_stack))
    start = await send(relay_stack, "127.0.0.28", "POST", "/api/call", offer, base=base)
    end = await send(relay_stack, "127.0.0.28", "DELETE", f"/api/call/call_{'0' * 32}", base=base)
    for answer in (start, end):
        assert (answer.status, answer.code) == (403, "forbidden")
    assert len(await standin_calls(relay_stack)) == upstream_before  # nothing reached OpenAI


async def test_a_call_answers_201_with_the_answer_its_location_and_its_end(relay_stack: StackProcess) -> None:
    before = time.time()
    call = await start_call(relay_stack, "127.0.0.21")
    try:
        headers = call.answer.headers
        assert headers["Content-Type"].startswith("application/sdp")
        assert headers["Cache-Control"] == "no-store"
        assert before + MAX_CALL_SECONDS - 1 <= call.ends_at <= time.time() + MAX_CALL_SECONDS + 1
        assert "sk-" not in call.answer.text
        assert "rtc_" not in str(headers)  # OpenAI's call id stays server-side
        assert call.client.pc.connectionState == "connected"
        assert call.call_id in await asyncio.to_thread(schedules, relay_stack)
        # OpenAI is told who is calling by a fingerprint, never the address.
        (upstream,) = [c for c in await standin_calls(relay_stack) if c["state"] != "closed"]
        assert upstream["safety_identifier"]
        assert "127.0.0.21" not in upstream["safety_identifier"]
        assert upstream["ek_sha256"] is None  # the server's key, no client secret
    finally:
        ended = await send(relay_stack, "127.0.0.21", "DELETE", f"/api/call/{call.call_id}")
        await call.client.close()
    assert ended.status == 204


async def test_offers_that_are_not_one_voice_call_are_refused(relay_stack: StackProcess) -> None:
    client = RealtimeClient()
    offer = await client.offer()
    await client.close()
    garbage = await send(relay_stack, "127.0.0.22", "POST", "/api/call", "hello")
    not_an_offer = await send(
        relay_stack, "127.0.0.22", "POST", "/api/call", offer.replace("a=setup:actpass", "a=setup:active")
    )
    as_json = await send(relay_stack, "127.0.0.22", "POST", "/api/call", offer, "application/json")
    too_large = await send(relay_stack, "127.0.0.22", "POST", "/api/call", offer + "a=x\r\n" * 8000)

    assert (garbage.status, garbage.code) == (400, "invalid_offer")
    assert (not_an_offer.status, not_an_offer.code) == (400, "invalid_offer")
    assert (as_json.status, as_json.code) == (415, "unsupported_media_type")
    assert (too_large.status, too_large.code) == (413, "payload_too_large")


async def test_the_scheduled_hangup_ends_the_call_at_the_cap(relay_stack: StackProcess) -> None:
    call = await start_call(relay_stack, "127.0.0.23")
    try:
        assert not closed(call.client)
        await eventually(lambda: closed(call.client), timeout=MAX_CALL_SECONDS + 10)
        closed_at = time.time()
    finally:
        await call.client.close()
    # Never before the cap; then within the local scheduler's poll (0.5 s) and one hangup, which
    # a two-core machine running browser suites beside this has stretched to a few seconds.
    assert call.ends_at - 1 <= closed_at <= call.ends_at + 6
    # The scheduler deletes a fired schedule once its target has returned (ActionAfterCompletion).
    remaining: set[str] = {call.call_id}

    async def poll() -> None:
        remaining.intersection_update(await asyncio.to_thread(schedules, relay_stack))

    for _ in range(50):
        await poll()
        if not remaining:
            break
        await asyncio.sleep(0.1)
    assert call.call_id not in remaining
    # The lease is free: the same visitor calls again at once.
    again = await start_call(relay_stack, "127.0.0.23")
    await send(relay_stack, "127.0.0.23", "DELETE", f"/api/call/{again.call_id}")
    await again.client.close()


async def test_ending_a_call_frees_its_lease_and_only_its_visitor_can(relay_stack: StackProcess) -> None:
    visitor, stranger = "127.0.0.24", "127.0.0.25"
    first = await start_call(relay_stack, visitor)
    refused_client = RealtimeClient()
    refused = await send(relay_stack, visitor, "POST", "/api/call", await refused_client.offer())
    await refused_client.close()
    by_stranger = await send(relay_stack, stranger, "DELETE", f"/api/call/{first.call_id}")
    unknown = await send(relay_stack, visitor, "DELETE", f"/api/call/call_{'0' * 32}")
    ended = await send(relay_stack, visitor, "DELETE", f"/api/call/{first.call_id}")
    await eventually(lambda: closed(first.client), timeout=3)
    ended_again = await send(relay_stack, visitor, "DELETE", f"/api/call/{first.call_id}")
    await first.client.close()
    second = await start_call(relay_stack, visitor)
    await send(relay_stack, visitor, "DELETE", f"/api/call/{second.call_id}")
    await second.client.close()

    assert (refused.status, refused.code) == (429, "concurrent_calls")
    assert 0 < int(refused.headers["Retry-After"]) <= MAX_CALL_SECONDS
    assert (by_stranger.status, by_stranger.code) == (404, "call_not_found")
    assert (unknown.status, unknown.code) == (404, "call_not_found")
    assert (ended.status, ended.text) == (204, "")
    assert ended_again.status == 204
    assert first.call_id not in await asyncio.to_thread(schedules, relay_stack)


async def test_the_kill_switch_ends_every_live_call(relay_stack: StackProcess) -> None:
    calls = [await start_call(relay_stack, visitor) for visitor in ("127.0.0.26", "127.0.0.27")]
    started = time.monotonic()
    try:
        result = await asyncio.to_thread(relay_stack.kill_switch)
        await eventually(lambda: all(closed(call.client) for call in calls), timeout=5)
        took = time.monotonic() - started
    finally:
        for call in calls:
            await call.client.close()
    assert result == {"ended": 2}
    assert took < 5
    assert not {call.call_id for call in calls} & await asyncio.to_thread(schedules, relay_stack)
    again = await send(relay_stack, "127.0.0.26", "DELETE", f"/api/call/{calls[0].call_id}")
    assert again.status == 204  # already ended: idempotent
