"""Usage as OpenAI bills it: `response.done.response.usage` and input-transcription usage add up."""

from __future__ import annotations

import math
from typing import Any

import pytest

from local.openai_standin.responder import DELTA_INTERVAL
from local.openai_standin.usage import (
    Output,
    cached_prefix,
    input_segments,
    response_usage,
    transcription_usage,
)
from tests.standin.realtime_client import RealtimeClient, running_standin
from tests.standin.sideband_client import SidebandClient, relayed_call


def _typed(text: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
    }


def _assert_consistent(usage: dict[str, Any]) -> None:
    inputs, outputs = usage["input_token_details"], usage["output_token_details"]
    cached = inputs["cached_tokens_details"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens"] == inputs["text_tokens"] + inputs["audio_tokens"] + inputs["image_tokens"]
    assert usage["output_tokens"] == outputs["text_tokens"] + outputs["audio_tokens"]
    assert inputs["cached_tokens"] == cached["text_tokens"] + cached["audio_tokens"] + cached["image_tokens"]
    for modality in ("text_tokens", "audio_tokens", "image_tokens"):
        assert 0 <= cached[modality] <= inputs[modality]  # cached tokens are a subset of input tokens


def test_the_arithmetic_of_one_response() -> None:
    items = [
        {
            "id": "a",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        },
        {
            "id": "b",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_audio", "transcript": "Hi"}],
        },
        {
            "id": "c",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "three word text"}],
        },
    ]
    durations = {"a": 1234.0, "b": 960.0}
    first = input_segments("Be brief.", [], items[:2], lambda item_id: durations.get(item_id, 0.0))
    second = input_segments("Be brief.", [], items, lambda item_id: durations.get(item_id, 0.0))
    usage = response_usage(second, cached_prefix(first, second), Output(text=4, audio=20))
    _assert_consistent(usage)
    # User audio 1 token per 100 ms (13), assistant audio 1 per 50 ms (20); text 1 per word.
    assert usage["input_token_details"]["audio_tokens"] == 13 + 20
    assert usage["input_token_details"]["text_tokens"] == 2 + 3
    assert usage["input_token_details"]["cached_tokens_details"] == {
        "text_tokens": 2,
        "audio_tokens": 33,
        "image_tokens": 0,
    }
    changed = input_segments("Be verbose.", [], items, lambda item_id: durations.get(item_id, 0.0))
    assert cached_prefix(second, changed) == []  # new instructions: nothing is cached


@pytest.mark.parametrize(
    ("transcription", "expected"),
    [
        ({"model": "whisper-1"}, {"type": "duration", "seconds": 1.25}),
        (
            {"model": "gpt-4o-mini-transcribe"},
            {
                "type": "tokens",
                "input_tokens": 13,
                "output_tokens": 3,
                "total_tokens": 16,
                "input_token_details": {"text_tokens": 0, "audio_tokens": 13},
            },
        ),
        (
            {"model": "gpt-4o-transcribe", "prompt": "Expect names"},
            {
                "type": "tokens",
                "input_tokens": 15,
                "output_tokens": 3,
                "total_tokens": 18,
                "input_token_details": {"text_tokens": 2, "audio_tokens": 13},
            },
        ),
    ],
)
def test_transcription_is_billed_by_its_own_model(
    transcription: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert transcription_usage(transcription, 1250.0, "one two three") == expected


async def test_a_growing_conversation_reads_more_input_and_caches_what_the_last_response_read() -> None:
    async with running_standin() as standin:
        client, call_id = await relayed_call(standin, {"type": "realtime", "instructions": "Be brief."})
        sideband = await SidebandClient.attach(standin, call_id)
        dones: list[dict[str, Any]] = []
        for text in ("Ping 42", "And again please"):
            since = len(sideband.events)
            await sideband.send(_typed(text))
            await sideband.send({"type": "response.create"})
            dones.append(await sideband.wait_for_type("response.done", start=since))
        await sideband.close()
        await client.close()
    first, second = (done["response"]["usage"] for done in dones)
    for done in dones:
        usage = done["response"]["usage"]
        _assert_consistent(usage)
        transcript = done["response"]["output"][0]["content"][0]["transcript"]
        deltas = [
            e
            for e in sideband.events
            if e["type"] == "response.output_audio_transcript.delta"
            and e["response_id"] == done["response"]["id"]
        ]
        assert usage["output_token_details"]["text_tokens"] == len(transcript.split())
        assert usage["output_token_details"]["audio_tokens"] == math.ceil(
            len(deltas) * DELTA_INTERVAL * 1000 / 50
        )
    assert first["input_token_details"]["text_tokens"] == 2 + 2  # "Be brief." and "Ping 42"
    assert first["input_token_details"]["cached_tokens"] == 0
    assert second["input_tokens"] > first["input_tokens"]
    # The second read the first's context, unchanged, and more: all of the first's input is cached.
    assert second["input_token_details"]["cached_tokens"] == first["input_tokens"]
    # The first reply is in the second's input as assistant audio, 1 token per 50 ms.
    assert second["input_token_details"]["audio_tokens"] == first["output_token_details"]["audio_tokens"]


@pytest.mark.parametrize("model", ["gpt-4o-mini-transcribe", "whisper-1"])
async def test_a_spoken_turn_is_billed_by_its_length(model: str) -> None:
    session = {
        "type": "realtime",
        "instructions": "",
        "audio": {"input": {"transcription": {"model": model}}},
    }
    async with running_standin() as standin:
        client, call_id = await relayed_call(standin, session)
        sideband = await SidebandClient.attach(standin, call_id)
        client.microphone.level = 0.3
        started = await sideband.wait_for_type("input_audio_buffer.speech_started")
        stopped = await sideband.wait_for_type("input_audio_buffer.speech_stopped")
        client.microphone.level = 0.0
        transcribed = await sideband.wait_for_type("conversation.item.input_audio_transcription.completed")
        done = await sideband.wait_for_type("response.done")
        await sideband.close()
        await client.close()
    milliseconds = stopped["audio_end_ms"] - started["audio_start_ms"]
    audio_tokens = math.ceil(milliseconds / 100)
    usage = done["response"]["usage"]
    _assert_consistent(usage)
    assert usage["input_token_details"]["audio_tokens"] == audio_tokens
    if model == "whisper-1":
        assert transcribed["usage"] == {"type": "duration", "seconds": milliseconds / 1000}
    else:
        assert transcribed["usage"]["input_token_details"]["audio_tokens"] == audio_tokens
        assert transcribed["usage"]["output_tokens"] == len(transcribed["transcript"].split())


async def test_a_client_secret_call_reports_usage_too() -> None:
    async with running_standin() as standin:
        secret = await standin.client_secret()
        client = RealtimeClient()
        await client.connect(standin, secret["value"])
        client.send(_typed("Hello there"))
        client.send({"type": "response.create"})
        done = await client.wait_for_type("response.done")
        await client.close()
    _assert_consistent(done["response"]["usage"])
