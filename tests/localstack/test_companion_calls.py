"""The companion on the whole local stack: relayed calls as a page makes them, with the real vend
function, the Lambda Invoke emulation running the real companion, moto's DynamoDB and the stand-in's
sideband. What a user would notice: the call ends at its cap to the second, a tool the model calls is
answered once by the server, the assistant can hang up, the metered spend ends a call at its budget,
and none of it lapses while companions hand over every few seconds (an emulated Lambda deadline).
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local.stack import StackProcess
from tests.conftest import standin_env
from tests.localstack.test_relay_calls import Call, closed, send, standin_calls, start_call
from tests.standin.realtime_client import RealtimeClient, eventually

MAX_CALL_SECONDS = 30  # room for a drop, a re-attach and a spoken goodbye while CI keeps both cores busy
DEADLINE_SECONDS = 3  # each companion invocation's emulated Lambda deadline: a hand-over every ~2 s


@pytest.fixture(scope="module")
def stack() -> Iterator[StackProcess]:
    with StackProcess(
        "--port",
        "0",
        "--companion-deadline-seconds",
        str(DEADLINE_SECONDS),
        "--async-retry-seconds",
        "0.5",
        env=standin_env(),
        mode="relay",
        max_call_seconds=MAX_CALL_SECONDS,
        concurrent_calls=1,
    ) as process:
        yield process


@pytest.fixture(scope="module")
def frugal_stack() -> Iterator[StackProcess]:
    """A visitor's day budget of one cent: the first answers spend it."""
    with StackProcess(
        "--port",
        "0",
        env=standin_env(),
        mode="relay",
        max_call_seconds=60,
        concurrent_calls=1,
        call_dollars_per_visitor="0.01",
    ) as process:
        yield process


def invocations(stack: StackProcess) -> list[dict[str, Any]]:
    with urllib.request.urlopen(stack.ready["invocations_url"], timeout=5) as response:  # noqa: S310
        listed: list[dict[str, Any]] = json.loads(response.read())
    return listed


def item(stack: StackProcess, key: str) -> dict[str, Any] | None:
    client = boto3.client(
        "dynamodb",
        endpoint_url=stack.ready["dynamodb_endpoint"],
        region_name=stack.ready["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto's fake credentials
    )
    found: dict[str, Any] | None = client.get_item(
        TableName=stack.ready["quota_table"], Key={"pk": {"S": key}}, ConsistentRead=True
    ).get("Item")
    return found


async def finalised_reason(stack: StackProcess, call_id: str) -> str:
    """Why the companion finalised the call (it writes that after hanging up, so wait a moment)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = await asyncio.to_thread(item, stack, f"companion#{call_id}")
        if found is not None and "finalised_reason" in found:
            return str(found["finalised_reason"]["S"])
        await asyncio.sleep(0.05)
    raise AssertionError("the companion never finalised the call")


def say(call: Call, text: str) -> int:
    """Types `text` as the page's text box does; returns the event index to wait from."""
    start = len(call.client.events)
    call.client.send(
        {
            "type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
        }
    )
    call.client.send({"type": "response.create"})
    return start


async def attached(stack: StackProcess) -> dict[str, Any]:
    """The stand-in's record of the live call once a companion holds its sideband."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for record in await standin_calls(stack):
            if record.get("ended_by") is None and record["sidebands"]["attached"] >= 1:
                return record
        await asyncio.sleep(0.05)
    raise AssertionError(f"no companion attached: {await standin_calls(stack)}")


async def test_the_companion_answers_a_tool_once_meters_and_ends_the_call_at_its_cap_across_hand_overs(
    stack: StackProcess,
) -> None:
    call = await start_call(stack, "127.0.0.61")
    try:
        record = await attached(stack)
        start = say(call, "What time is it?")
        called = await call.client.wait_for(
            lambda e: e["type"] == "response.function_call_arguments.done", start=start
        )
        assert called["name"] == "get_current_time"  # the page sees the call (it shows "Checked the time")
        reply = await call.client.wait_for(
            lambda e: (
                e["type"] == "response.output_audio_transcript.done"
                and "Here is what I found" in e["transcript"]
            ),
            start=start,
            timeout=10,
        )
        assert "UTC" in reply["transcript"]  # the tool's own output, spoken back

        # The cap: the stand-in's call ends within a second of Call-Ends-At, hung up by the server.
        await eventually(lambda: closed(call.client), timeout=MAX_CALL_SECONDS + 5)
        ended_at = time.time()
        assert ended_at - call.ends_at <= 1.5  # polling adds up to its interval

        final = next(c for c in await standin_calls(stack) if c["id"] == record["id"])
        assert final["ended_by"] == "hangup"
        (function_call,) = final["function_calls"].values()
        assert function_call["outputs_received"] == 1  # answered once, though companions overlapped
        assert function_call["output_sources"] == ["sideband"]
        # At least three hand-overs: a fresh companion attached every ~2 s of the call.
        assert final["sidebands"]["attached_total"] >= 4
        generations = [
            i for i in invocations(stack) if i["function"].endswith("companion") and i["state"] == "succeeded"
        ]
        assert len(generations) >= 4

        assert await finalised_reason(stack, call.call_id) == "cap"
        spend = item(stack, f"spend#call#{call.call_id}")
        assert spend is not None and int(spend["micro_usd"]["N"]) > 0
        call_record = item(stack, f"call#{call.call_id}")
        assert call_record is not None and call_record["state"]["S"] == "ended"
    finally:
        await call.client.close()


async def test_a_dropped_sideband_is_attached_again_and_the_assistant_can_hang_up(
    stack: StackProcess,
) -> None:
    call = await start_call(stack, "127.0.0.62")
    try:
        record = await attached(stack)
        before = record["sidebands"]["attached_total"]
        await asyncio.to_thread(
            urllib.request.urlopen,
            urllib.request.Request(  # noqa: S310
                f"{stack.standin_url}/__standin/sidebands/drop",
                data=json.dumps({"call_id": record["id"]}).encode(),
                method="POST",
            ),
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            now = next(c for c in await standin_calls(stack) if c["id"] == record["id"])
            if now["sidebands"]["attached"] >= 1 and now["sidebands"]["attached_total"] > before:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the companion did not attach again after the drop")

        start = say(call, "Thanks, goodbye!")
        called = await call.client.wait_for(
            lambda e: e["type"] == "response.function_call_arguments.done", start=start
        )
        assert called["name"] == "end_call"
        await eventually(lambda: closed(call.client), timeout=20)
        assert time.time() < call.ends_at  # the assistant ended it, not the cap
        assert await finalised_reason(stack, call.call_id) == "assistant"
    finally:
        await call.client.close()
    # The lease is free at once: the same visitor (one call at a time) calls again.
    again = await start_call(stack, "127.0.0.62")
    try:
        assert again.answer.status == 201
    finally:
        await send(stack, "127.0.0.62", "DELETE", f"/api/call/{again.call_id}")
        await again.client.close()


async def test_the_metered_budget_ends_the_live_call_and_refuses_the_next_until_midnight(
    frugal_stack: StackProcess,
) -> None:
    call = await start_call(frugal_stack, "127.0.0.63")
    try:
        await attached(frugal_stack)
        for _ in range(6):  # each answer costs about a tenth of a cent at gpt-realtime-2.1's prices
            if closed(call.client):
                break
            start = say(call, "Tell me something interesting.")
            try:
                await call.client.wait_for(lambda e: e["type"] == "response.done", start=start, timeout=10)
            except TimeoutError:
                break
        await eventually(lambda: closed(call.client), timeout=10)
        assert await finalised_reason(frugal_stack, call.call_id) == "spend_cap"
    finally:
        await call.client.close()

    spent_on = int(time.time()) // 86_400  # the UTC day the budget was reached
    client = RealtimeClient()
    offer = await client.offer()
    await client.close()
    refused = await send(frugal_stack, "127.0.0.63", "POST", "/api/call", offer)
    if int(time.time()) // 86_400 != spent_on:
        # The run crossed 00:00 UTC (CI did once): the new day's budget is whole again, and the call is let in
        assert refused.status == 201
        await send(frugal_stack, "127.0.0.63", "DELETE", refused.headers["Location"])
        return
    assert (refused.status, refused.code) == (429, "spend_cap_reached")
    midnight = (int(time.time()) // 86_400 + 1) * 86_400
    assert abs(int(refused.headers["Retry-After"]) - (midnight - time.time())) <= 2
    # Another visitor still calls: the budget that was reached is this visitor's.
    other = await start_call(frugal_stack, "127.0.0.64")
    try:
        assert other.answer.status == 201
    finally:
        await send(frugal_stack, "127.0.0.64", "DELETE", f"/api/call/{other.call_id}")
        await other.client.close()
