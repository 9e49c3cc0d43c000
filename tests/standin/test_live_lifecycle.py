"""How a Live session ends besides session.close: expiry at `expires_at`, and the hangup endpoint
(documented for SIP only) per `live_webrtc_hangup`; and the Live options of the control API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.standin.live_client import SESSIONS, LiveSideband, live_session, live_state
from tests.standin.realtime_client import API_KEY, RunningStandin, eventually, running_standin


async def _hangup(standin: RunningStandin, session_id: str, token: str = API_KEY) -> tuple[int, str]:
    async with standin.http.post(
        f"{standin.base_url}{SESSIONS}/{session_id}/hangup", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        return response.status, await response.text()


async def test_a_session_expires_at_its_limit_with_session_closed_expired() -> None:
    created = time.time()
    async with live_session({"live_max_session_seconds": 1.5}) as (standin, client):
        session_id = client.session_id or ""
        sideband = await LiveSideband.attach_live(standin, session_id)
        started = await client.wait_for_type("session.started")
        closed = await client.wait_for_type("session.closed", timeout=5)
        code = await sideband.wait_closed()
        state = await live_state(standin, session_id)
    assert started["type"] == "session.started"
    assert abs(started["session"]["expires_at"] - (created + 1.5)) <= 1.5
    assert closed["reason"] == "expired" and "client_event_id" not in closed
    assert sideband.events[-1]["event_id"] == closed["event_id"]
    assert code == 1000
    assert (state["close_reason"], state["ended_by"]) == ("expired", "expiry")


async def test_the_default_limit_is_an_hour() -> None:
    async with live_session() as (_, client):
        started = await client.wait_for_type("session.started")
    assert 3590 <= started["session"]["expires_at"] - time.time() <= 3600


async def test_hangup_is_ignored_by_default_as_for_webrtc_openai_documents_it_for_sip_only() -> None:
    async with live_session() as (standin, client):
        session_id = client.session_id or ""
        status, body = await _hangup(standin, session_id)
        await asyncio.sleep(0.5)
        state = await live_state(standin, session_id)
        client.send({"type": "session.input_audio.mute", "event_id": "still_there"})
        await client.wait_for_type("session.input_audio.muted")
        unknown = await _hangup(standin, "live_00000000000000000000000000000000")
        wrong_key = await _hangup(standin, session_id, token="sk-wrong-0123456789abcdef")
    assert (status, body) == (200, "")
    assert state["state"] != "closed" and state["hangups_received"] == 1
    assert "session.closed" not in [e["type"] for e in client.events]
    assert unknown[0] == 404 and '"session_not_found"' in unknown[1]
    assert wrong_key[0] == 401


async def test_hangup_honoured_closes_the_session_as_close_requested() -> None:
    async with live_session({"live_webrtc_hangup": "honoured"}) as (standin, client):
        session_id = client.session_id or ""
        sideband = await LiveSideband.attach_live(standin, session_id)
        await eventually(lambda: standin.standin.live_sessions[session_id].sidebands.attached_count == 1)
        status, _ = await _hangup(standin, session_id)
        closed = await client.wait_for_type("session.closed")
        code = await sideband.wait_closed()
        again = await _hangup(standin, session_id)
        state = await live_state(standin, session_id)
    assert status == 200
    assert closed["reason"] == "close_requested" and "client_event_id" not in closed
    assert code == 1000
    assert again[0] == 404
    assert state["ended_by"] == "hangup"


async def test_the_live_options_are_checked_by_the_control_api() -> None:
    async with running_standin() as standin:
        answers: list[tuple[int, Any]] = []
        for patch in (
            {"live_webrtc_hangup": "sometimes"},
            {"live_reflect_audio": "yes"},
            {"live_usage_interval_seconds": 0},
            {"live_max_session_seconds": "1"},
            {"live_webrtc_hangup": "honoured", "live_reflect_audio": False, "live_usage_interval_seconds": 2},
        ):
            async with standin.http.patch(f"{standin.base_url}/__standin/options", json=patch) as response:
                answers.append((response.status, await response.json()))
    assert [status for status, _ in answers] == [400, 400, 400, 400, 200]
    applied = answers[-1][1]
    assert (applied["live_webrtc_hangup"], applied["live_reflect_audio"]) == ("honoured", False)
    assert applied["live_usage_interval_seconds"] == 2.0


async def test_a_control_reset_ends_live_sessions_and_forgets_them() -> None:
    async with live_session() as (standin, client):
        session_id = client.session_id or ""
        sideband = await LiveSideband.attach_live(standin, session_id)
        await eventually(lambda: standin.standin.live_sessions[session_id].sidebands.attached_count == 1)
        async with standin.http.post(f"{standin.base_url}/__standin/reset") as response:
            assert response.status == 200
        closed = await sideband.wait_for_type("session.closed")
        code = await sideband.wait_closed()
        state = await standin.state()
    assert closed["reason"] == "connection_lost"
    assert code == 1000
    assert state["live_sessions"] == []
