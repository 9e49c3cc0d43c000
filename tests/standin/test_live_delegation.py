"""Responses delegation: a function call the companion answers on its sideband, typed text from the
page, and a hosted web search; the voice speaks a result only after it exists."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.standin.live_client import (
    PAGE_CHANNEL,
    PAGE_CLIENT_EVENTS,
    PAGE_SERVER_EVENTS,
    LiveClient,
    LiveSideband,
    live_session,
    live_state,
)
from tests.standin.realtime_client import eventually

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
BACKEND_MODEL = "gpt-5.5"


def _delegation(*tools: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "responses",
        "responses": {"model": BACKEND_MODEL, "instructions": "Backend.", "tools": list(tools)},
    }


TYPED_CHANNEL = {
    "data_channel": {
        "allowed_client_events": [
            *PAGE_CLIENT_EVENTS,
            "response.item.create",
            "response.create",
        ],
        "allowed_server_events": PAGE_SERVER_EVENTS,
    }
}


def _nested(events: list[dict[str, Any]], nested_type: str) -> list[dict[str, Any]]:
    return [e["event"] for e in events if e["type"] == "response.event" and e["event"]["type"] == nested_type]


def _spoken(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "session.output_transcript.delta")


async def _speak(client: LiveClient) -> None:
    client.microphone.level = 0.3
    await asyncio.sleep(0.6)
    client.microphone.level = 0.0


async def test_a_spoken_turn_asking_for_a_tool_round_trips_through_a_sideband() -> None:
    options = {"mic_transcript": "What is the current time in Paris?"}
    async with live_session(options, client=PAGE_CHANNEL, delegation=_delegation(TIME_TOOL)) as (
        standin,
        client,
    ):
        session_id = client.session_id or ""
        sideband = await LiveSideband.attach_live(standin, session_id)
        await eventually(lambda: standin.standin.live_sessions[session_id].sidebands.attached_count == 1)
        await _speak(client)
        done = await sideband.wait_for(
            lambda e: e["type"] == "response.event" and e["event"]["type"] == "response.output_item.done"
        )
        call = done["event"]["item"]
        await asyncio.sleep(1.0)  # the backend waits: nothing is said about a result yet
        spoken_before_output = _spoken(client.events)
        await sideband.send(
            {
                "type": "response.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": call["call_id"],
                    "output": "12:34 in Paris",
                },
            }
        )
        await sideband.send({"type": "response.create", "event_id": "rc1"})
        await client.wait_for(
            lambda e: e["type"] == "session.output_transcript.delta" and "Paris" in e["delta"]
        )
        await asyncio.sleep(0.3)
        state = await live_state(standin, session_id)
        await sideband.close()
    delegated = [e for e in sideband.events if e["type"] == "session.delegation.created"]
    assert len(delegated) == 1 and delegated[0]["delegation"]["target"] == "responses"
    assert call["type"] == "function_call" and call["name"] == "get_current_time"
    assert json.loads(call["arguments"]) == {"timezone": "UTC"}
    assert done["delegation_id"] == delegated[0]["delegation"]["id"]
    assert "12:34" not in spoken_before_output
    created = _nested(sideband.events, "response.created")
    completed = _nested(sideband.events, "response.completed")
    assert len(created) == len(completed) == 2
    for snapshot in (*created, *completed):
        response = snapshot["response"]
        assert (response["output"], response["tools"], response["instructions"]) == ([], [], None)
    assert completed[-1]["response"]["model"] == BACKEND_MODEL
    assert completed[-1]["response"]["usage"]["total_tokens"] > 0
    messages = [
        e["item"]
        for e in _nested(sideband.events, "response.output_item.done")
        if e["item"]["type"] == "message"
    ]
    assert messages[0]["content"][0]["text"] == "Here is what I found: 12:34 in Paris"
    assert "Here is what I found: 12:34 in Paris" in _spoken(client.events)
    # The page sees the delegation and the items (its filter), never a snapshot.
    page_nested = {e["event"]["type"] for e in client.events if e["type"] == "response.event"}
    assert page_nested == {"response.output_item.done"}
    assert "session.delegation.created" in [e["type"] for e in client.events]
    assert state["function_calls"][call["call_id"]]["outputs_received"] == 1
    assert state["function_calls"][call["call_id"]]["output_sources"] == ["sideband"]


async def test_response_create_before_the_output_is_an_error_and_says_nothing() -> None:
    options = {"mic_transcript": "What time is it?"}
    async with live_session(options, client=PAGE_CHANNEL, delegation=_delegation(TIME_TOOL)) as (
        standin,
        client,
    ):
        sideband = await LiveSideband.attach_live(standin, client.session_id or "")
        await eventually(
            lambda: standin.standin.live_sessions[client.session_id or ""].sidebands.attached_count == 1
        )
        await _speak(client)
        await sideband.wait_for(
            lambda e: e["type"] == "response.event" and e["event"]["type"] == "response.completed"
        )
        await sideband.send({"type": "response.create", "event_id": "early"})
        error = await sideband.wait_for_type("error")
        await sideband.send(
            {
                "type": "response.item.create",
                "event_id": "stray",
                "item": {"type": "function_call_output", "call_id": "call_nope", "output": "x"},
            }
        )
        stray = await sideband.wait_for(lambda e: e.get("client_event_id") == "stray")
        await sideband.close()
    assert error["client_event_id"] == "early"
    assert stray["type"] == "error" and stray["error"]["param"] == "item.call_id"


async def test_typed_text_goes_through_the_backend_and_the_voice_speaks_its_answer() -> None:
    async with live_session(client=TYPED_CHANNEL, delegation=_delegation(TIME_TOOL)) as (standin, client):
        client.send(
            {
                "type": "response.item.create",
                "event_id": "t1",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "Hello backend"}],
                },
            }
        )
        client.send({"type": "response.create", "event_id": "t2"})
        await client.wait_for(
            lambda e: e["type"] == "session.output_transcript.delta" and "answering." in e["delta"]
        )
        state = await live_state(standin, client.session_id or "")
    done = [e["event"]["item"] for e in client.events if e["type"] == "response.event"]
    assert [item["type"] for item in done] == ["message"]
    assert "Hello backend" in done[0]["content"][0]["text"]
    assert done[0]["content"][0]["text"] in _spoken(client.events)
    assert state["refused_client_events"] == []
    created = [
        e
        for e in state["server_events"]
        if e["type"] == "response.event" and e["event"]["type"] == "response.completed"
    ]
    assert created[0]["event"]["response"]["model"] == BACKEND_MODEL


async def test_typed_text_is_refused_when_the_page_may_not_send_it() -> None:
    async with live_session(client=PAGE_CHANNEL, delegation=_delegation(TIME_TOOL)) as (_, client):
        client.send({"type": "response.create", "event_id": "t2"})
        refused = await client.wait_for(lambda e: e.get("client_event_id") == "t2")
    assert (refused["type"], refused["code"]) == ("info", "data_channel_permissions")


async def test_typed_text_asking_for_a_tool_calls_it_and_response_events_need_responses_delegation() -> None:
    async with live_session(client=TYPED_CHANNEL, delegation=_delegation(TIME_TOOL)) as (_, client):
        client.send(
            {
                "type": "response.item.create",
                "item": {"type": "message", "role": "user", "content": "What time is it?"},
            }
        )
        client.send({"type": "response.create"})
        done = await client.wait_for(lambda e: e["type"] == "response.event")
    assert done["event"]["item"]["type"] == "function_call"
    async with live_session() as (_, client):
        client.send({"type": "response.create", "event_id": "no_delegation"})
        error = await client.wait_for(lambda e: e.get("client_event_id") == "no_delegation")
    assert error["type"] == "error" and error["error"]["param"] == "type"


async def test_a_declared_web_search_runs_hosted_and_the_voice_speaks_a_canned_answer() -> None:
    options = {"mic_transcript": "Search the latest news about the sea"}
    async with live_session(options, delegation=_delegation({"type": "web_search"})) as (_, client):
        await _speak(client)
        await client.wait_for(
            lambda e: e["type"] == "session.output_transcript.delta" and "result." in e["delta"]
        )
    items = [e["item"] for e in _nested(client.events, "response.output_item.done")]
    assert [item["type"] for item in items] == ["web_search_call", "message"]
    assert items[0]["status"] == "completed"
    assert "searched the web" in _spoken(client.events)


async def test_a_spoken_turn_asking_for_no_tool_is_answered_by_the_voice_model_alone() -> None:
    options = {"mic_transcript": "Tell me a joke"}
    async with live_session(options, delegation=_delegation(TIME_TOOL)) as (_, client):
        await _speak(client)
        await client.wait_for(
            lambda e: e["type"] == "session.output_transcript.delta" and "you." in e["delta"]
        )
    assert not [e for e in client.events if e["type"] in ("session.delegation.created", "response.event")]
