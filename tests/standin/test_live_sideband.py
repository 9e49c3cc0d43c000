"""The Live sideband (`GET /v1/live/sessions/{id}/attach`): the same events with the same ids as
the page, plus what the page's filter hides; unrestricted client events; and how a session ends
when the browser goes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aioice.ice
import pytest

from tests.standin.live_client import (
    PAGE_CHANNEL,
    LiveClient,
    LiveSideband,
    live_session,
    live_state,
    refused_attach,
)
from tests.standin.realtime_client import eventually, running_standin


async def _post(standin: Any, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    async with standin.http.post(f"{standin.base_url}{path}", json=body) as response:
        assert response.status == 200, await response.text()
        result: dict[str, Any] = await response.json()
        return result


async def test_a_sideband_gets_every_channel_event_with_the_same_event_id_and_what_the_filter_hides() -> None:
    async with live_session(client=PAGE_CHANNEL) as (standin, client):
        session_id = client.session_id or ""
        sideband = await LiveSideband.attach_live(standin, session_id, "?graceful_close=true")
        await eventually(
            lambda: standin.standin.live_sessions[session_id].sidebands.snapshot()["attached"] == 1
        )
        client.microphone.level = 0.3
        await asyncio.sleep(0.6)
        client.microphone.level = 0.0
        await client.wait_for(
            lambda e: e["type"] == "session.output_transcript.delta" and "you." in e["delta"]
        )
        await sideband.send({"type": "session.update", "event_id": "sb_u1", "session": {"triggers": []}})
        updated = await sideband.wait_for_type("session.updated")
        client.send({"type": "session.input_audio.mute", "event_id": "m1"})
        await sideband.wait_for_type("session.input_audio.muted")
        await asyncio.sleep(0.2)
        state = await live_state(standin, session_id)
        await sideband.close()
    on_channel = [e for e in client.events if e["type"] != "info"]  # the open-time info came before attach
    by_id = {e["event_id"]: e for e in sideband.events_with_id()}
    assert len(on_channel) >= 6
    for event in on_channel:
        assert by_id.get(event["event_id"]) == event
    assert updated["client_event_id"] == "sb_u1"
    assert "session.updated" not in [e["type"] for e in client.events]
    assert state["sidebands"]["attached"] == 1
    assert state["sidebands"]["connections"][0]["client_events"][0]["type"] == "session.update"


async def test_a_sideband_is_not_restricted_and_its_errors_go_to_it_alone() -> None:
    async with live_session(client=PAGE_CHANNEL) as (standin, client):
        sideband = await LiveSideband.attach_live(standin, client.session_id or "")
        await sideband.send_raw(json.dumps({"type": "session.input_audio.mute", "event_id": "bad", "x": 1}))
        error = await sideband.wait_for_type("error")
        await sideband.send({"type": "session.input_audio.mute", "event_id": "ok"})
        muted = await sideband.wait_for_type("session.input_audio.muted")
        await client.wait_for_type("session.input_audio.muted")
        await sideband.close()
    assert (error["client_event_id"], error["error"]["param"]) == ("bad", "x")
    assert "error" not in [e["type"] for e in client.events]
    assert muted["client_event_id"] == "ok"


async def test_unknown_and_ended_sessions_answer_404_session_not_found_before_the_upgrade() -> None:
    async with running_standin() as standin:
        client = LiveClient()
        session_id = await client.create(standin)
        wrong_key = await refused_attach(standin, session_id, token="sk-wrong-0123456789abcdef")
        no_key = await refused_attach(standin, session_id, token=None)
        unknown = await refused_attach(standin, "live_00000000000000000000000000000000")
        realtime_style = await refused_attach(standin, "rtc_00000000000000000000000000000000")
        client.send({"type": "session.close"})
        await eventually(lambda: standin.standin.live_sessions[session_id].state == "closed")
        ended = await refused_attach(standin, session_id)
        await client.close()
    for status, body in (unknown, realtime_style, ended):
        assert status == 404
        assert body["error"]["type"] == "invalid_request_error"
        assert body["error"]["code"] == "session_not_found"
    assert (wrong_key[0], wrong_key[1]["error"]["code"]) == (401, "invalid_api_key")
    assert no_key[0] == 401


async def test_session_close_from_a_sideband_ends_the_session_for_everyone() -> None:
    async with live_session() as (standin, client):
        session_id = client.session_id or ""
        first = await LiveSideband.attach_live(standin, session_id)
        second = await LiveSideband.attach_live(standin, session_id)
        await eventually(
            lambda: standin.standin.live_sessions[session_id].sidebands.snapshot()["attached"] == 2
        )
        await first.send({"type": "session.close", "event_id": "sb_close"})
        closed = await client.wait_for_type("session.closed")
        codes = [await first.wait_closed(), await second.wait_closed()]
        state = await live_state(standin, session_id)
    assert (closed["reason"], closed["client_event_id"]) == ("close_requested", "sb_close")
    assert first.events[-1] == second.events[-1] == closed
    assert codes == [1000, 1000]
    assert state["ended_by"] == "sideband"


async def test_sidebands_drop_closes_them_with_1001_and_the_session_goes_on() -> None:
    async with live_session() as (standin, client):
        session_id = client.session_id or ""
        sideband = await LiveSideband.attach_live(standin, session_id)
        await eventually(
            lambda: standin.standin.live_sessions[session_id].sidebands.snapshot()["attached"] == 1
        )
        dropped = await _post(standin, "/__standin/sidebands/drop", {"call_id": session_id})
        code = await sideband.wait_closed()
        again = await LiveSideband.attach_live(standin, session_id)
        await again.send({"type": "session.input_audio.mute", "event_id": "m2"})
        muted = await again.wait_for_type("session.input_audio.muted")
        await again.close()
    assert dropped == {"closed": {session_id: 1}}
    assert code == 1001
    assert muted["client_event_id"] == "m2"


async def test_the_browser_closing_its_peer_connection_is_a_remote_hangup() -> None:
    async with running_standin() as standin:
        client = LiveClient()
        session_id = await client.create(standin)
        sideband = await LiveSideband.attach_live(standin, session_id)
        await eventually(
            lambda: standin.standin.live_sessions[session_id].sidebands.snapshot()["attached"] == 1
        )
        await client.close()
        closed = await sideband.wait_for_type("session.closed")
        code = await sideband.wait_closed()
        state = await live_state(standin, session_id)
    assert closed["reason"] == "remote_hangup"
    assert "client_event_id" not in closed
    assert code == 1000
    assert (state["close_reason"], state["ended_by"]) == ("remote_hangup", "browser")


async def test_a_lost_connection_is_connection_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    # ICE consent (RFC 7675) every 0.2 s instead of 5 s, so its six failures take seconds, not half a minute.
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.2)
    async with live_session() as (standin, client):
        session_id = client.session_id or ""
        sideband = await LiveSideband.attach_live(standin, session_id)
        await eventually(
            lambda: standin.standin.live_sessions[session_id].sidebands.snapshot()["attached"] == 1
        )
        await _post(standin, "/__standin/drop", {"call_id": session_id})
        closed = await sideband.wait_for_type("session.closed", timeout=15)
        code = await sideband.wait_closed()
        state = await live_state(standin, session_id)
    assert closed["reason"] == "connection_lost"
    assert code == 1000
    assert state["ended_by"] == "browser"
