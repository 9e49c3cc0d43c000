"""What a relay (our server holding the real key) does with the stand-in, as with OpenAI's GA API.

The server posts the browser's offer as multipart (`sdp` + `session`, the bare session object) with
the `sk-` key, keeps the `rtc_…` id from `Location`, and later hangs the call up. The browser side is
an aiortc peer: a hangup must close its data channel and its peer connection, as Chromium sees it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from aiortc import RTCSessionDescription

from tests.standin.realtime_client import API_KEY, RealtimeClient, RunningStandin, eventually, running_standin

CALLS = "/v1/realtime/calls"
SESSION = '{"type": "realtime", "instructions": "Relayed.", "audio": {"output": {"voice": "marin"}}}'


async def _relay_post(
    standin: RunningStandin, sdp: str, session: str | None = SESSION, token: str = API_KEY
) -> tuple[int, str, dict[str, str]]:
    form = aiohttp.FormData()
    form.add_field("sdp", sdp, content_type="application/sdp")
    if session is not None:
        form.add_field("session", session, content_type="application/json")
    async with standin.http.post(
        f"{standin.base_url}{CALLS}",
        data=form,
        headers={"Authorization": f"Bearer {token}", "OpenAI-Safety-Identifier": "visitor-fp-0123456789ab"},
    ) as response:
        return response.status, await response.text(), dict(response.headers)


async def _relayed_call(standin: RunningStandin) -> tuple[RealtimeClient, str]:
    """A browser peer connected through a relay; returns it and OpenAI's call id."""
    client = RealtimeClient()
    status, answer, headers = await _relay_post(standin, await client.offer())
    assert status == 201, answer
    await client.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    await client.wait_for_type("session.created")
    return client, headers["Location"].rsplit("/", 1)[-1]


async def _hangup(standin: RunningStandin, call_id: str, token: str = API_KEY) -> tuple[int, Any]:
    async with standin.http.post(
        f"{standin.base_url}{CALLS}/{call_id}/hangup", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body


async def test_a_relayed_offer_gets_201_an_answer_and_the_rtc_location_with_the_servers_session() -> None:
    async with running_standin() as standin:
        client = RealtimeClient()
        status, answer, headers = await _relay_post(standin, await client.offer())
        await client.close()
    assert status == 201
    assert headers["Content-Type"].startswith("application/sdp")
    assert answer.startswith("v=0")
    assert "a=setup:active" in answer or "a=setup:passive" in answer
    location = headers["Location"]
    assert location.startswith("/v1/realtime/calls/rtc_")
    (call,) = standin.standin.calls.values()
    assert location == f"{CALLS}/{call.id}"
    assert call.realtime.session["instructions"] == "Relayed."
    assert call.realtime.session["audio"]["output"]["voice"] == "marin"
    assert call.snapshot()["safety_identifier"] == "visitor-fp-0123456789ab"


async def test_a_relay_refuses_what_openai_refuses() -> None:
    async with running_standin() as standin:
        client = RealtimeClient()
        offer = await client.offer()
        await client.close()
        answer_not_offer = offer.replace("a=setup:actpass", "a=setup:active")
        cases = {
            "garbage sdp": (await _relay_post(standin, "not sdp at all"), "sdp"),
            "an answer posted as the offer": (await _relay_post(standin, answer_not_offer), "sdp"),
            "a session in its wrapper": (
                await _relay_post(standin, offer, '{"session": {"type": "realtime"}}'),
                None,
            ),
            "a session without its type": (await _relay_post(standin, offer, '{"instructions": "x"}'), None),
            "a beta-shaped session": (
                await _relay_post(standin, offer, '{"type": "realtime", "voice": "alloy"}'),
                None,
            ),
            "a session that is not JSON": (await _relay_post(standin, offer, "{nope"), None),
        }
        assert standin.standin.calls == {}
    for case, ((status, body, _), param) in cases.items():
        assert status == 400, case
        assert '"invalid_request_error"' in body, case
        if param is not None:
            assert f'"param": "{param}"' in body, case


async def test_a_relayed_offer_needs_the_real_key() -> None:
    async with running_standin() as standin:
        client = RealtimeClient()
        status, body, _ = await _relay_post(standin, await client.offer(), token="sk-wrong-0123456789abcdef")
        await client.close()
    assert status == 401
    assert '"invalid_api_key"' in body


async def test_hangup_closes_the_browsers_data_channel_and_peer_connection_within_two_seconds() -> None:
    async with running_standin() as standin:
        client, call_id = await _relayed_call(standin)
        assert (client.channel.readyState, client.pc.connectionState) == ("open", "connected")
        started = time.monotonic()
        assert await _hangup(standin, call_id) == (200, None)
        # Nothing on the browser side asks: the stand-in's SCTP ABORT and DTLS close reach it.
        await eventually(
            lambda: client.channel.readyState == "closed" and client.pc.connectionState == "closed",
            timeout=2.0,
        )
        took = time.monotonic() - started
        (call,) = standin.standin.calls.values()
        assert (call.state, call.end_reason) == ("closed", "hangup")
        await client.close()
    assert took < 2.0


async def test_hanging_up_an_ended_or_unknown_call_is_404_and_ends_nothing_else() -> None:
    async with running_standin() as standin:
        first, first_id = await _relayed_call(standin)
        second, _ = await _relayed_call(standin)
        assert (await _hangup(standin, first_id))[0] == 200
        again_status, again = await _hangup(standin, first_id)
        unknown_status, unknown = await _hangup(standin, "rtc_00000000000000000000000000000000")
        await asyncio.sleep(0.3)
        still_live = (second.channel.readyState, second.pc.connectionState)
        await first.close()
        await second.close()
    assert (again_status, again["error"]["type"]) == (404, "invalid_request_error")
    assert (unknown_status, unknown["error"]["type"]) == (404, "invalid_request_error")
    assert still_live == ("open", "connected")


async def test_hangup_needs_the_real_key() -> None:
    async with running_standin() as standin:
        client, call_id = await _relayed_call(standin)
        status, body = await _hangup(standin, call_id, token="sk-wrong-0123456789abcdef")
        await asyncio.sleep(0.2)
        live = client.channel.readyState
        await client.close()
    assert (status, body["error"]["code"]) == (401, "invalid_api_key")
    assert live == "open"
