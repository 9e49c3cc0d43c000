"""Standby: `wake_policy` speech + `idle_timeout_s` pause inference when nobody speaks, and speech
wakes it; the usage splits active and paused seconds."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.standin.live_client import PAGE_CHANNEL, LiveClient, LiveSideband, live_session, live_state
from tests.standin.realtime_client import eventually

STANDBY: dict[str, Any] = {"wake_policy": {"type": "speech"}, "idle_timeout_s": 1}


async def _speak(client: LiveClient) -> None:
    client.microphone.level = 0.3
    await asyncio.sleep(0.6)
    client.microphone.level = 0.0


def _types(client: LiveClient) -> list[str]:
    return [e["type"] for e in client.events]


async def test_speech_wakes_the_session_and_an_idle_timeout_pauses_it_again() -> None:
    async with live_session(client=PAGE_CHANNEL, **STANDBY) as (standin, client):
        session_id = client.session_id or ""
        sideband = await LiveSideband.attach_live(standin, session_id)
        await asyncio.sleep(1.2)  # not woken yet: no pause without a wake, whatever the timeout
        before_speech = _types(client)
        await _speak(client)
        await client.wait_for_type("session.resumed")
        await client.wait_for(
            lambda e: e["type"] == "session.output_transcript.delta" and "you." in e["delta"]
        )
        reply_done = len(client.events)
        await client.wait_for_type("session.paused", timeout=3, start=reply_done)
        await asyncio.sleep(1.2)  # past the stand-in's 2 s turn gap after a reply
        await _speak(client)
        await client.wait_for_type("session.resumed", start=reply_done)
        state = await live_state(standin, session_id)
        client.send({"type": "session.close"})
        closed = await sideband.wait_for_type("session.closed")
    assert "session.resumed" not in before_speech and "session.paused" not in before_speech
    types = _types(client)
    assert types.index("session.resumed") < types.index("session.input_transcript.delta")
    assert types.count("session.resumed") == 2 and types.count("session.paused") == 1
    assert (state["standby"]["resumed_count"], state["standby"]["paused_count"]) == (2, 1)
    usage = closed["usage"]
    assert usage["paused_seconds"] >= 1  # the wait before the first wake, then the pause
    assert usage["active_seconds"] + usage["paused_seconds"] == usage["seconds"] == 15


async def test_muted_speech_does_not_wake_a_sleeping_session() -> None:
    async with live_session(client=PAGE_CHANNEL, **STANDBY) as (_, client):
        client.send({"type": "session.input_audio.mute"})
        await client.wait_for_type("session.input_audio.muted")
        await _speak(client)
        await asyncio.sleep(0.8)
    assert "session.resumed" not in _types(client)
    assert "session.input_transcript.delta" not in _types(client)


async def test_a_wake_policy_without_idle_timeout_wakes_once_and_never_pauses() -> None:
    async with live_session(client=PAGE_CHANNEL, wake_policy={"type": "speech"}) as (standin, client):
        await _speak(client)
        await client.wait_for(
            lambda e: e["type"] == "session.output_transcript.delta" and "you." in e["delta"]
        )
        await asyncio.sleep(1.5)
        state = await live_state(standin, client.session_id or "")
    assert _types(client).count("session.resumed") == 1
    assert "session.paused" not in _types(client)
    assert state["standby"] == {"enabled": True, "awake": True, "paused_count": 0, "resumed_count": 1}


async def test_without_a_wake_policy_there_is_no_standby() -> None:
    async with live_session(client=PAGE_CHANNEL) as (standin, client):
        await _speak(client)
        await client.wait_for(
            lambda e: e["type"] == "session.output_transcript.delta" and "you." in e["delta"]
        )
        await eventually(lambda: not standin.standin.live_sessions[client.session_id or ""].session.speaking)
        state = await live_state(standin, client.session_id or "")
    assert "session.resumed" not in _types(client) and "session.paused" not in _types(client)
    assert state["usage"]["paused_seconds"] == 0
