"""The companion against the GPT-Live stand-in's Responses delegation and usage reports (its
milestone 2): a spoken turn makes the backend call a server tool, the companion answers it once on
its sideband, the backend completes and the voice speaks the result; the usage snapshots, the final
usage and the backend's tokens are metered into the spend ledger exactly; the cap ends the session.
A spoken goodbye makes the backend call end_call, and the session closes once the assistant said it.
The stand-in reflects the session's audio to the sideband meanwhile (its default).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.functional.test_companion_live import LiveStack, luna_micro_usd, voice_micro_usd
from tests.functional.test_companion_live_standin import Standin, attached, run
from tests.standin.live_client import live_session, live_state
from tests.standin.realtime_client import API_KEY, eventually

TIME_TOOL = {
    "type": "function",
    "name": "get_current_time",
    "description": "The current time in a time zone.",
    "parameters": {
        "type": "object",
        "properties": {"timezone": {"type": "string"}},
        "required": ["timezone"],
    },
}
DELEGATION = {
    "type": "responses",
    "responses": {"model": "gpt-6-luna", "instructions": "Backend.", "tools": [TIME_TOOL]},
}


def test_a_delegated_tool_is_answered_once_and_every_usage_is_metered_exactly(aws: None) -> None:
    outcome: dict[str, Any] = {}
    options = {"mic_transcript": "What is the current time in Paris?", "live_usage_interval_seconds": 0.5}

    async def scenario() -> None:
        async with live_session(options, delegation=DELEGATION) as (standin, client):  # the page sees all
            stack = LiveStack(Standin(standin), api_key=API_KEY)
            record, live = stack.live_call(seconds=6, session_id=client.session_id)
            stack.invocations.start(record.call_id, 0)
            await eventually(lambda: attached(standin, client) == 1)
            client.microphone.level = 0.3
            await asyncio.sleep(0.6)
            client.microphone.level = 0.0
            await client.wait_for(
                lambda e: e["type"] == "session.output_transcript.delta" and "12:00" in e["delta"], timeout=8
            )
            closed = await client.wait_for_type("session.closed", timeout=8)
            outcome.update(closed=closed, at=time.time(), state=await live_state(standin, live))
            await asyncio.to_thread(stack.invocations.wait, 8)
            outcome.update(stack=stack, record=record, events=list(client.events))

    run(scenario)
    stack, record, events = outcome["stack"], outcome["record"], outcome["events"]
    assert stack.invocations.errors == []
    assert stack.invocations.outcomes == {0: "finalised_cap"}
    assert stack.tools.runs == ["get_current_time"]
    [call] = outcome["state"]["function_calls"].values()
    assert (call["outputs_received"], call["output_sources"]) == (1, ["sideband"])
    assert record.ends_at <= outcome["at"] < record.ends_at + 1
    assert outcome["closed"]["reason"] == "close_requested"
    assert stack.items.finalised_reason(record.call_id) == "cap"
    snapshots = [e for e in events if e["type"] == "session.usage.updated"]
    assert snapshots  # metered as they came; the final usage supersedes them
    completed = [
        e["event"]["response"]
        for e in events
        if e["type"] == "response.event" and e["event"]["type"] == "response.completed"
    ]
    assert completed and all(r["model"] == "gpt-6-luna" for r in completed)
    backend = sum(
        luna_micro_usd(
            r["usage"]["input_tokens"],
            r["usage"]["input_tokens_details"]["cached_tokens"],
            r["usage"]["output_tokens"],
        )
        for r in completed
    )
    usage = outcome["closed"]["usage"]
    assert (
        stack.metered(record) == voice_micro_usd(usage["active_seconds"], usage["paused_seconds"]) + backend
    )


END_CALL = {
    "type": "function",
    "name": "end_call",
    "description": "End the call after saying goodbye.",
    "parameters": {"type": "object", "properties": {}},
}


def test_end_call_through_delegation_closes_the_session_after_the_spoken_goodbye(aws: None) -> None:
    outcome: dict[str, Any] = {}
    options = {"mic_transcript": "Thanks, goodbye!"}
    delegation = {"type": "responses", "responses": {"model": "gpt-6-luna", "tools": [TIME_TOOL, END_CALL]}}

    async def scenario() -> None:
        async with live_session(options, delegation=delegation) as (standin, client):
            stack = LiveStack(Standin(standin), api_key=API_KEY)
            record, _ = stack.live_call(seconds=60, session_id=client.session_id)
            stack.invocations.start(record.call_id, 0)
            await eventually(lambda: attached(standin, client) == 1)
            client.microphone.level = 0.3
            await asyncio.sleep(0.6)
            client.microphone.level = 0.0
            await client.wait_for(
                lambda e: e["type"] == "session.output_transcript.delta" and "goodbye." in e["delta"],
                timeout=8,
            )
            said = time.time()
            closed = await client.wait_for_type("session.closed", timeout=8)
            outcome.update(said=said, closed_at=time.time(), closed=closed)
            await asyncio.to_thread(stack.invocations.wait, 8)
            outcome.update(stack=stack, record=record)

    run(scenario)
    stack, record = outcome["stack"], outcome["record"]
    assert stack.invocations.errors == []
    assert stack.invocations.outcomes == {0: "finalised_assistant"}
    assert stack.tools.runs == ["end_call"]
    assert outcome["closed"]["reason"] == "close_requested"
    # Closed once the assistant had been quiet for 2 s after its goodbye, long before the cap.
    assert outcome["said"] + 1.5 <= outcome["closed_at"] < outcome["said"] + 4
    assert stack.items.finalised_reason(record.call_id) == "assistant"


def test_standby_seconds_are_metered_at_the_standby_rate(aws: None) -> None:
    outcome: dict[str, Any] = {}
    options = {"live_usage_interval_seconds": 0.5}

    async def scenario() -> None:
        async with live_session(options, wake_policy={"type": "speech"}, idle_timeout_s=1) as (
            standin,
            client,
        ):
            stack = LiveStack(Standin(standin), api_key=API_KEY)
            record, _ = stack.live_call(seconds=9, session_id=client.session_id)
            stack.invocations.start(record.call_id, 0)
            client.microphone.level = 0.3  # wakes inference; after the answer, 1 s of quiet: standby
            await asyncio.sleep(0.6)
            client.microphone.level = 0.0
            closed = await client.wait_for_type("session.closed", timeout=10)
            await asyncio.to_thread(stack.invocations.wait, 8)
            outcome.update(stack=stack, record=record, closed=closed, events=list(client.events))

    run(scenario)
    stack, record, usage = outcome["stack"], outcome["record"], outcome["closed"]["usage"]
    assert stack.invocations.outcomes == {0: "finalised_cap"}
    assert "session.paused" in [e["type"] for e in outcome["events"]]
    assert usage["paused_seconds"] > 0
    assert stack.metered(record) == voice_micro_usd(usage["active_seconds"], usage["paused_seconds"])
    assert stack.metered(record) < voice_micro_usd(int(usage["seconds"]), 0)  # cheaper than all active
