"""Function tools: the stand-in's model calls a declared tool by a documented rule, then speaks its output."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.openai_standin.tool_calls import CallTool, Speak, build_arguments, decide, pick_tool
from tests.standin.realtime_client import RealtimeClient, RunningStandin, eventually, running_standin
from tests.standin.sideband_client import SidebandClient, relay_post, relayed_call

GET_CURRENT_TIME: dict[str, Any] = {
    "type": "function",
    "name": "get_current_time",
    "description": "The current time in a time zone.",
    "parameters": {
        "type": "object",
        "properties": {"time_zone": {"type": "string", "description": "An IANA time zone."}},
        "required": ["time_zone"],
        "additionalProperties": False,
    },
}
END_CALL: dict[str, Any] = {
    "type": "function",
    "name": "end_call",
    "description": "Hang up when the visitor says goodbye.",
    "parameters": {"type": "object", "properties": {}},
}
WITH_TOOLS: dict[str, Any] = {"type": "realtime", "tools": [GET_CURRENT_TIME, END_CALL]}
FUNCTION_CALL_RESPONSE = [
    "response.created",
    "response.output_item.added",
    "conversation.item.added",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
]


def _typed(text: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
    }


def _output(call_id: str, output: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": call_id, "output": output},
    }


def _collapsed(events: list[dict[str, Any]]) -> list[str]:
    types: list[str] = []
    for event in events:
        if not (types and types[-1] == event["type"] and event["type"].endswith(".delta")):
            types.append(event["type"])
    return types


async def _function_calls(standin: RunningStandin) -> dict[str, Any]:
    (call,) = (await standin.state())["calls"]
    calls: dict[str, Any] = call["function_calls"]
    return calls


# -- the rule ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Please get current time in Paris", "get_current_time"),
        ("What time is it?", "get_current_time"),
        ("OK, goodbye!", "end_call"),
        ("Bye now", "end_call"),
        ("Call END CALL please", "end_call"),
        ("Tell me something interesting.", None),
        ("Sometimes I wonder", None),  # "time" is a word, not a substring
    ],
)
def test_a_user_turn_calls_the_tool_it_names_or_hints_at(text: str, expected: str | None) -> None:
    tool = pick_tool(text, [GET_CURRENT_TIME, END_CALL], "auto")
    assert (tool["name"] if tool else None) == expected


def test_tool_choice_none_never_calls_and_a_forced_function_always_does() -> None:
    tools = [GET_CURRENT_TIME, END_CALL]
    assert pick_tool("What time is it?", tools, "none") is None
    forced = pick_tool("Hello", tools, {"type": "function", "name": "end_call"})
    assert forced is not None and forced["name"] == "end_call"
    assert pick_tool("What time is it?", [], "auto") is None
    required = pick_tool("Hello", tools, "required")
    assert required is not None and required["name"] == "get_current_time"
    assert pick_tool("Hello", tools, "auto") is None


def test_arguments_satisfy_the_schema_with_every_required_property() -> None:
    schema = {
        "type": "object",
        "properties": {
            "timezone": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "city": {"type": "string"},
            "days": {"type": "integer", "minimum": 1},
            "optional": {"type": "string"},
        },
        "required": ["timezone", "unit", "city", "days"],
    }
    assert build_arguments(schema) == {"timezone": "UTC", "unit": "celsius", "city": "example", "days": 1}
    assert build_arguments(END_CALL["parameters"]) == {}


def test_after_an_output_the_model_speaks_it_and_does_not_call_again() -> None:
    user = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "What time is it?"}],
    }
    call = {"type": "function_call", "name": "get_current_time", "call_id": "call_1", "arguments": "{}"}
    output = {"type": "function_call_output", "call_id": "call_1", "output": "12:00 UTC"}
    tools = [GET_CURRENT_TIME]

    def heard(item: Any) -> str:
        return str(item["content"][0]["text"])

    def reply(text: str | None) -> str:
        return f"reply to {text}"

    assert decide([user], tools, "auto", heard, reply) == CallTool("get_current_time", '{"time_zone": "UTC"}')
    assert decide([user, call, output], tools, "auto", heard, reply) == Speak(
        "Here is what I found: 12:00 UTC"
    )
    assert decide([user, call], tools, "auto", heard, reply) == Speak("reply to What time is it?")


# -- over the wire ------------------------------------------------------------------------------------------


async def test_a_function_call_round_trip_over_the_sideband() -> None:
    async with running_standin() as standin:
        client, call_id = await relayed_call(standin, WITH_TOOLS)
        sideband = await SidebandClient.attach(standin, call_id)
        since = len(client.events)
        client.send(_typed("What time is it?"))
        client.send({"type": "response.create"})
        done = await sideband.wait_for_type("response.function_call_arguments.done")
        call_done = await sideband.wait_for_type("response.done")
        await sideband.send(_output(done["call_id"], "It is 12:00 in UTC."))
        await sideband.send({"type": "response.create"})
        spoken = await client.wait_for(
            lambda e: e["type"] == "response.done" and e["response"]["id"] != call_done["response"]["id"],
            start=since,
        )
        ledger = await _function_calls(standin)
        await sideband.close()
        await client.close()
    start = next(i for i, e in enumerate(sideband.events) if e["type"] == "response.created")
    assert _collapsed(sideband.events[start : sideband.events.index(call_done) + 1]) == FUNCTION_CALL_RESPONSE
    assert (done["name"], json.loads(done["arguments"])) == ("get_current_time", {"time_zone": "UTC"})
    deltas = [e["delta"] for e in sideband.events if e["type"] == "response.function_call_arguments.delta"]
    assert "".join(deltas) == done["arguments"]
    response = call_done["response"]
    assert response["status"] == "completed"
    (item,) = response["output"]
    assert (item["type"], item["call_id"], item["arguments"]) == (
        "function_call",
        done["call_id"],
        done["arguments"],
    )
    assert response["usage"]["output_token_details"]["audio_tokens"] == 0
    assert response["usage"]["output_tokens"] > 0
    transcript = spoken["response"]["output"][0]["content"][0]["transcript"]
    assert transcript == "Here is what I found: It is 12:00 in UTC."
    assert ledger[done["call_id"]] == {
        "name": "get_current_time",
        "arguments": done["arguments"],
        "response_id": done["response_id"],
        "outputs_received": 1,
        "output_sources": ["sideband"],
    }
    assert all(event in client.events[since:] for event in sideband.events)  # the page sees them all


async def test_a_second_output_for_the_same_call_is_accepted_and_counted() -> None:
    async with running_standin() as standin:
        client, call_id = await relayed_call(standin, WITH_TOOLS)
        sideband = await SidebandClient.attach(standin, call_id)
        client.send(_typed("Goodbye!"))
        client.send({"type": "response.create"})
        done = await sideband.wait_for_type("response.function_call_arguments.done")
        await sideband.wait_for_type("response.done")
        await sideband.send(_output(done["call_id"], "Call ended."))
        client.send(_output(done["call_id"], "forged by the page"))  # OpenAI does not deduplicate
        await eventually(lambda: sum(e["type"] == "conversation.item.done" for e in client.events) >= 4)
        ledger = await _function_calls(standin)
        await sideband.close()
        await client.close()
    assert (done["name"], done["arguments"]) == ("end_call", "{}")
    assert ledger[done["call_id"]]["outputs_received"] == 2
    assert ledger[done["call_id"]]["output_sources"] == ["sideband", "data_channel"]


async def test_a_spoken_turn_with_a_set_transcript_calls_the_tool() -> None:
    async with running_standin() as standin:
        client, call_id = await relayed_call(standin, WITH_TOOLS)
        sideband = await SidebandClient.attach(standin, call_id)
        async with standin.http.patch(
            f"{standin.base_url}/__standin/options", json={"mic_transcript": "Thanks, goodbye!"}
        ) as response:
            assert response.status == 200
        client.microphone.level = 0.3
        done = await sideband.wait_for_type("response.function_call_arguments.done")
        client.microphone.level = 0.0
        options = (await standin.state())["options"]
        await sideband.close()
        await client.close()
    assert done["name"] == "end_call"
    assert options["mic_transcript"] is None  # used once


async def test_without_tools_the_same_words_get_speech() -> None:
    async with running_standin() as standin:
        client, _ = await relayed_call(standin)
        client.send(_typed("What time is it?"))
        client.send({"type": "response.create"})
        done = await client.wait_for_type("response.done")
        await client.close()
    assert done["response"]["output"][0]["type"] == "message"


@pytest.mark.parametrize(
    ("tools", "param"),
    [
        ([{"type": "function", "description": "no name"}], "session.tools[0].name"),
        ([{"type": "function", "name": "has space"}], "session.tools[0].name"),
        ([GET_CURRENT_TIME, GET_CURRENT_TIME], "session.tools[1].name"),
        (
            [{"type": "function", "name": "f", "parameters": {"type": "string"}}],
            "session.tools[0].parameters",
        ),
    ],
)
async def test_tools_openai_refuses_are_refused_in_a_relayed_session_and_in_session_update(
    tools: list[dict[str, Any]], param: str
) -> None:
    async with running_standin() as standin:
        browser = RealtimeClient()
        refused = await relay_post(standin, await browser.offer(), {"type": "realtime", "tools": tools})
        body = json.loads(await refused.text())
        await browser.close()
        client, call_id = await relayed_call(standin)
        sideband = await SidebandClient.attach(standin, call_id)
        await sideband.send_raw(
            json.dumps({"type": "session.update", "session": {"type": "realtime", "tools": tools}})
        )
        error = await sideband.wait_for(lambda e: e["type"] in {"error", "session.updated"})
        await sideband.close()
        await client.close()
    assert (refused.status, body["error"]["param"]) == (400, param)
    assert (error["type"], error["error"]["param"]) == ("error", param)


async def test_reset_forgets_a_mic_transcript_no_turn_used() -> None:
    async with running_standin() as standin:
        async with standin.http.patch(
            f"{standin.base_url}/__standin/options", json={"mic_transcript": "What time is it?"}
        ) as response:
            assert response.status == 200
        async with standin.http.post(f"{standin.base_url}/__standin/reset") as response:
            assert response.status == 200
        options = (await standin.state())["options"]
    assert options["mic_transcript"] is None


@pytest.mark.parametrize("value", [5, "", "   ", ["What time is it?"]])
async def test_a_mic_transcript_must_be_text(value: object) -> None:
    async with (
        running_standin() as standin,
        standin.http.patch(
            f"{standin.base_url}/__standin/options", json={"mic_transcript": value}
        ) as response,
    ):
        status = response.status
        options = (await standin.state())["options"]
    assert status == 400
    assert options["mic_transcript"] is None
