"""Reflected audio on sidebands, as OpenAI sends it: the microphone as `session.input_audio.append`
(even while muted) and the voice as `session.output_audio.delta` with timeline ms; 100 ms chunks of
24 kHz PCM16, no event_id; off with `live_reflect_audio`."""

from __future__ import annotations

import asyncio
import base64
import itertools
from typing import Any

import numpy as np

from tests.standin.live_client import LiveClient, LiveSideband, live_session
from tests.standin.realtime_client import RunningStandin, eventually

CHUNK_BYTES = 4800  # 100 ms of 24 kHz mono PCM16


async def _attach(standin: RunningStandin, client: LiveClient) -> LiveSideband:
    sideband = await LiveSideband.attach_live(standin, client.session_id or "")
    await eventually(
        lambda: standin.standin.live_sessions[client.session_id or ""].sidebands.attached_count == 1
    )
    return sideband


def _of_type(sideband: LiveSideband, event_type: str) -> list[dict[str, Any]]:
    return [e for e in sideband.events if e["type"] == event_type]


async def test_the_microphone_and_the_voice_are_reflected_in_100_ms_chunks() -> None:
    async with live_session() as (standin, client):
        sideband = await _attach(standin, client)
        client.send({"type": "session.input_audio.mute"})
        client.microphone.level = 0.3
        await asyncio.sleep(0.6)
        client.microphone.level = 0.0
        muted_appends = len(_of_type(sideband, "session.input_audio.append"))
        client.send({"type": "session.input_audio.unmute"})
        client.microphone.level = 0.3
        await asyncio.sleep(0.6)
        client.microphone.level = 0.0
        await client.wait_for(
            lambda e: e["type"] == "session.output_transcript.delta" and "you." in e["delta"]
        )
        await asyncio.sleep(0.2)
        await sideband.close()
    appends = _of_type(sideband, "session.input_audio.append")
    deltas = _of_type(sideband, "session.output_audio.delta")
    assert muted_appends >= 3  # reflected before muting
    assert all("event_id" not in e for e in appends + deltas)
    loud = [np.frombuffer(base64.b64decode(e["audio"]), dtype="<i2") for e in appends]
    assert all(len(chunk) * 2 == CHUNK_BYTES for chunk in loud)
    assert max(float(np.abs(chunk).max()) for chunk in loud) > 0.2 * 32767  # the 0.3 tone, at 24 kHz
    assert len(deltas) >= 5
    for earlier, later in itertools.pairwise(deltas):  # the utterance's last chunk may be shorter
        assert earlier["end_ms"] - earlier["start_ms"] == 100
        assert later["start_ms"] >= earlier["end_ms"]
    assert len(base64.b64decode(deltas[0]["delta"])) == CHUNK_BYTES
    spoken = [e for e in sideband.events if e["type"] == "session.output_transcript.delta"]
    assert abs(deltas[0]["start_ms"] - spoken[0]["start_ms"]) <= 100


async def test_reflection_can_be_switched_off() -> None:
    async with live_session({"live_reflect_audio": False}) as (standin, client):
        sideband = await _attach(standin, client)
        client.microphone.level = 0.3
        await asyncio.sleep(0.6)
        client.microphone.level = 0.0
        await client.wait_for(
            lambda e: e["type"] == "session.output_transcript.delta" and "you." in e["delta"]
        )
        await sideband.close()
    assert not _of_type(sideband, "session.input_audio.append")
    assert not _of_type(sideband, "session.output_audio.delta")
    assert _of_type(sideband, "session.output_transcript.delta")
