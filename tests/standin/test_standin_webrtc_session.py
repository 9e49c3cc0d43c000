"""Real WebRTC round trips with an aiortc client peer, as a browser would make them."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from local.openai_standin import validate_server_event
from tests.standin.realtime_client import (
    RealtimeClient,
    RunningStandin,
    connected,
    eventually,
    running_standin,
)

VOICE_TURN = [
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.committed",
    "conversation.item.added",
    "conversation.item.done",
    "conversation.item.input_audio_transcription.completed",
    "response.created",
    "response.output_item.added",
    "conversation.item.added",
    "response.content_part.added",
    "output_audio_buffer.started",
    "response.output_audio_transcript.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
    "output_audio_buffer.stopped",
]
TRANSCRIBED = {"type": "realtime", "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}}}


def _types(events: list[dict[str, Any]]) -> list[str]:
    collapsed: list[str] = []
    for event in events:
        if not (collapsed and collapsed[-1] == event["type"] and event["type"].endswith(".delta")):
            collapsed.append(event["type"])
    return collapsed


async def _call_state(standin: RunningStandin) -> dict[str, Any]:
    (call,) = (await standin.state())["calls"]
    assert isinstance(call, dict)
    return call


async def test_session_created_arrives_when_the_channel_opens_with_the_ek_session() -> None:
    async with running_standin() as standin:
        secret = await standin.client_secret({"session": {"type": "realtime", "instructions": "Hi there."}})
        client = RealtimeClient()
        await client.connect(standin, secret["value"])
        created = await client.wait_for_type("session.created")
        await client.close()
    validate_server_event(created)
    assert created["session"]["id"] == secret["session"]["id"]
    assert created["session"]["instructions"] == "Hi there."


async def test_speaking_into_the_microphone_plays_a_full_turn_of_valid_events() -> None:
    async with connected(TRANSCRIBED) as (standin, client):
        client.microphone.level = 0.3
        await client.wait_for_type("input_audio_buffer.speech_started")
        client.microphone.level = 0.0
        await client.wait_for_type("output_audio_buffer.stopped")
        call = await _call_state(standin)
    turn = client.events[1:]
    assert _types(turn) == VOICE_TURN
    for event in client.events:
        validate_server_event(event)
    assert len({event["event_id"] for event in client.events}) == len(client.events)
    transcript = next(e for e in turn if e["type"] == "conversation.item.input_audio_transcription.completed")
    done = next(e for e in turn if e["type"] == "response.output_audio_transcript.done")
    assert transcript["transcript"] in done["transcript"]
    deltas = "".join(e["delta"] for e in turn if e["type"] == "response.output_audio_transcript.delta")
    assert deltas == done["transcript"]
    assert call["mic_packets"] > 0
    assert [item["role"] for item in call["conversation"]] == ["user", "assistant"]


async def test_the_assistant_is_audibly_louder_while_it_answers() -> None:
    async with connected() as (_, client):
        await eventually(lambda: client.received_frames > 10)
        idle_level = client.received_level
        client.send({"type": "response.create"})
        await client.wait_for_type("output_audio_buffer.started")
        speaking_levels: list[float] = []

        def sample() -> bool:
            speaking_levels.append(client.received_level)
            return len(speaking_levels) > 20

        await eventually(sample, interval=0.02)
        await client.wait_for_type("output_audio_buffer.stopped")
    assert max(speaking_levels) > 0.05
    assert max(speaking_levels) > 10 * idle_level
    assert idle_level > 0  # never dead silence


async def test_a_muted_microphone_reaches_the_standin_as_silence() -> None:
    async with connected({"type": "realtime", "audio": {"input": {"turn_detection": None}}}) as (
        standin,
        client,
    ):
        client.microphone.level = 0.3
        await eventually(lambda: standin.standin.active_calls()[0].meter.level > 0.1)
        client.microphone.level = 0.0  # a muted track sends silent frames
        await eventually(lambda: standin.standin.active_calls()[0].meter.level < 0.001)
        packets = (await _call_state(standin))["mic_packets"]
        await eventually(lambda: standin.standin.active_calls()[0].meter.packets > packets + 5)
        call = await _call_state(standin)
    assert call["mic_level"] < 0.001
    assert not any(e["type"] == "input_audio_buffer.speech_started" for e in client.events)


async def test_a_typed_message_then_response_create_answers_it() -> None:
    async with connected() as (standin, client):
        client.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "Ping 42"}],
                },
            }
        )
        added = await client.wait_for_type("conversation.item.added")
        await client.wait_for_type("conversation.item.done")
        client.send({"type": "response.create"})
        done = await client.wait_for_type("response.done")
        call = await _call_state(standin)
    assert added["item"]["content"] == [{"type": "input_text", "text": "Ping 42"}]
    assert added["item"]["object"] == "realtime.item"
    reply = done["response"]["output"][0]["content"][0]["transcript"]
    assert 'You said: "Ping 42"' in reply
    assert done["response"]["status"] == "completed"
    assert done["response"]["usage"]["total_tokens"] > 0
    assert [item["role"] for item in call["conversation"]] == ["user", "assistant"]


async def test_a_replayed_transcript_is_recorded_in_the_call_conversation() -> None:
    async with connected() as (standin, client):
        for role, kind, text in [
            ("system", "input_text", "Context"),
            ("user", "input_text", "Q"),
            ("assistant", "output_text", "A"),
        ]:
            client.send(
                {
                    "type": "conversation.item.create",
                    "item": {"type": "message", "role": role, "content": [{"type": kind, "text": text}]},
                }
            )
        await eventually(lambda: sum(e["type"] == "conversation.item.done" for e in client.events) == 3)
        call = await _call_state(standin)
    assert [(i["role"], i["content"][0]["text"]) for i in call["conversation"]] == [
        ("system", "Context"),
        ("user", "Q"),
        ("assistant", "A"),
    ]


async def test_text_output_sessions_answer_with_output_text_events() -> None:
    async with connected({"type": "realtime", "output_modalities": ["text"]}) as (_, client):
        client.send({"type": "response.create"})
        done = await client.wait_for_type("response.done")
    types = {e["type"] for e in client.events}
    assert "response.output_text.delta" in types
    assert "output_audio_buffer.started" not in types
    assert done["response"]["output"][0]["content"][0]["type"] == "output_text"


async def test_session_update_is_merged_and_confirmed() -> None:
    async with connected() as (_, client):
        client.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "instructions": "New.",
                    "audio": {"output": {"voice": "cedar"}},
                },
            }
        )
        updated = await client.wait_for_type("session.updated")
    assert updated["session"]["instructions"] == "New."
    assert updated["session"]["audio"]["output"]["voice"] == "cedar"
    assert updated["session"]["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}


async def test_malformed_client_events_get_an_error_and_the_session_continues() -> None:
    async with connected() as (_, client):
        client.send("not json")
        first = await client.wait_for_type("error")
        client.send({"type": "response.audio.create", "event_id": "evt_beta"})
        second = await client.wait_for(
            lambda e: e["type"] == "error" and e["error"]["event_id"] == "evt_beta"
        )
        client.send({"type": "session.update", "event_id": "evt_shape", "session": {"instructions": "x"}})
        third = await client.wait_for(
            lambda e: e["type"] == "error" and e["error"]["event_id"] == "evt_shape"
        )
        client.send({"type": "response.cancel", "event_id": "evt_idle"})
        fourth = await client.wait_for(
            lambda e: e["type"] == "error" and e["error"]["event_id"] == "evt_idle"
        )
        client.send({"type": "response.create"})
        await client.wait_for_type("response.done")
    assert first["error"]["type"] == "invalid_request_error"
    assert second["error"]["param"] == "type"
    assert (third["error"]["param"], third["error"]["code"]) == ("session.type", "missing_required_parameter")
    assert fourth["error"]["code"] == "response_cancel_not_active"


async def test_response_cancel_stops_the_reply() -> None:
    async with connected() as (_, client):
        client.send({"type": "response.create"})
        await client.wait_for_type("response.output_audio_transcript.delta")
        client.send({"type": "response.cancel"})
        done = await client.wait_for_type("response.done")
        await client.wait_for_type("output_audio_buffer.stopped")
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"]["reason"] == "client_cancelled"


async def test_session_max_seconds_sends_session_expired_then_ends_the_call() -> None:
    async with connected(session_max_seconds=0.5) as (standin, client):
        expired = await client.wait_for(lambda e: e["type"] == "error")
        await eventually(lambda: client.channel.readyState == "closed")
        call = await _call_state(standin)
    assert expired["error"]["code"] == "session_expired"
    assert expired["error"]["type"] == "invalid_request_error"
    assert expired["error"]["message"] == "Your session hit the maximum duration of 0.5 seconds."
    assert (call["state"], call["end_reason"]) == ("closed", "session_expired")


async def test_drop_blackholes_the_call_so_the_client_stops_receiving() -> None:
    async with connected() as (standin, client):
        await eventually(lambda: client.received_frames > 5)
        async with standin.http.post(f"{standin.base_url}/__standin/drop") as response:
            assert response.status == 200
            dropped = (await response.json())["dropped"]
        await eventually(lambda: time.monotonic() - client.last_frame_at > 0.5)
        frames = client.received_frames
        before = (await _call_state(standin))["relay"]["dropped"]
        await eventually(
            lambda: standin.standin.active_calls()[0].snapshot()["relay"]["dropped"] > before + 10
        )
        call = await _call_state(standin)
    assert dropped == [client.call_id]
    assert call["state"] == "dropped"
    assert client.received_frames == frames


async def _round_trip(client: RealtimeClient, label: str) -> float:
    """Data-channel round trip: an invalid event and the error that answers it."""
    start = time.monotonic()
    client.send({"type": "ping.unknown", "event_id": label})
    await client.wait_for(lambda e: e["type"] == "error" and e["error"]["event_id"] == label)
    return time.monotonic() - start


async def test_media_delay_adds_the_configured_delay_each_way() -> None:
    async with connected() as (standin, client):
        base = statistics.median([await _round_trip(client, f"base{i}") for i in range(3)])
        standin.standin.options.media_delay_ms = 150
        delayed = statistics.median([await _round_trip(client, f"slow{i}") for i in range(3)])
    assert delayed - base >= 0.27  # 2 x 150 ms, less scheduling slack
    assert delayed < base + 0.6


async def test_every_event_the_standin_logged_validates() -> None:
    async with connected(TRANSCRIBED) as (standin, client):
        client.send({"type": "response.create", "response": {"conversation": "none", "metadata": {"k": "v"}}})
        await client.wait_for_type("response.done")
        client.send({"type": "input_audio_buffer.clear"})
        await client.wait_for_type("input_audio_buffer.cleared")
        await asyncio.sleep(0)
        call = await _call_state(standin)
    assert len(call["server_events"]) == len(client.events)
    for event in call["server_events"]:
        validate_server_event(event)


async def test_a_client_closing_its_peer_connection_ends_the_call() -> None:
    async with connected() as (standin, client):
        await client.pc.close()
        await eventually(lambda: standin.standin.calls[str(client.call_id)].state == "closed")
        call = await _call_state(standin)
    assert call["end_reason"] == "peer_closed"


async def test_mic_turns_off_keeps_the_microphone_from_starting_turns() -> None:
    async with connected(mic_turns=False) as (standin, client):
        client.microphone.level = 0.3
        await eventually(lambda: standin.standin.active_calls()[0].meter.packets > 40)
        client.send({"type": "response.create"})
        await client.wait_for_type("response.done")
    assert not any(e["type"] == "input_audio_buffer.speech_started" for e in client.events)


async def test_a_shorter_session_cap_patched_at_run_time_applies_to_a_running_call() -> None:
    async with connected() as (standin, client):
        url = f"{standin.base_url}/__standin/options"
        async with standin.http.patch(url, json={"session_max_seconds": 0.2}) as response:
            assert response.status == 200
        expired = await client.wait_for_type("error")
    assert expired["error"]["code"] == "session_expired"
