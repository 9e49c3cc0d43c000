"""The sideband (`GET /v1/realtime?call_id=`) as OpenAI serves it to the server that created a call."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from tests.standin.realtime_client import API_KEY, RealtimeClient, RunningStandin, connected, running_standin
from tests.standin.sideband_client import SidebandClient, refused_handshake, relayed_call

TYPED_TURN: dict[str, Any] = {
    "type": "conversation.item.create",
    "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Ping 42"}]},
}


async def _call(standin: RunningStandin, call_id: str) -> dict[str, Any]:
    calls: dict[str, dict[str, Any]] = {call["id"]: call for call in (await standin.state())["calls"]}
    return calls[call_id]


async def _post(standin: RunningStandin, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    async with standin.http.post(f"{standin.base_url}{path}", json=body) as response:
        assert response.status == 200, await response.text()
        result: dict[str, Any] = await response.json()
        return result


# -- the handshake -------------------------------------------------------------------------------------


async def test_a_sideband_attaches_with_the_api_key_and_a_model_query_is_ignored() -> None:
    async with running_standin() as standin:
        client, call_id = await relayed_call(standin)
        sideband = await SidebandClient.attach(standin, call_id, "&model=gpt-realtime-2.1")
        await asyncio.sleep(0.1)
        state = await _call(standin, call_id)
        await sideband.close()
        await client.close()
    assert state["sidebands"]["attached"] == 1
    assert state["session"]["model"] == "gpt-realtime"


async def test_unknown_ended_and_client_secret_calls_answer_404_call_id_not_found_before_the_upgrade() -> (
    None
):
    async with running_standin() as standin:
        ended, ended_id = await relayed_call(standin)
        async with standin.http.post(
            f"{standin.base_url}/v1/realtime/calls/{ended_id}/hangup",
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as response:
            assert response.status == 200
        secret = await standin.client_secret()
        browser = RealtimeClient()
        ek_call_id = await browser.connect(standin, secret["value"])
        live, live_id = await relayed_call(standin)
        answers = {
            "unknown": await refused_handshake(standin, "?call_id=rtc_00000000000000000000000000000000"),
            "ended": await refused_handshake(standin, f"?call_id={ended_id}"),
            "created with an ek_": await refused_handshake(standin, f"?call_id={ek_call_id}"),
            "an ek_ key": await refused_handshake(standin, f"?call_id={live_id}", token=secret["value"]),
        }
        wrong_key = await refused_handshake(standin, f"?call_id={live_id}", token="sk-wrong-0123456789abcdef")
        no_key = await refused_handshake(standin, f"?call_id={live_id}", token=None)
        no_call = await refused_handshake(standin, "?model=gpt-realtime")
        for peer in (ended, browser, live):
            await peer.close()
    for case, (status, body) in answers.items():
        assert status == 404, case
        assert (body["error"]["type"], body["error"]["code"]) == (
            "invalid_request_error",
            "call_id_not_found",
        ), case
    assert (wrong_key[0], wrong_key[1]["error"]["code"]) == (401, "invalid_api_key")
    assert no_key[0] == 401
    assert (no_call[0], no_call[1]["error"]["param"]) == (400, "call_id")


# -- events out: every server event, to every sideband -----------------------------------------------------


async def test_two_sidebands_get_every_server_event_the_data_channel_gets_with_the_same_event_ids() -> None:
    async with running_standin() as standin:
        client, call_id = await relayed_call(standin)
        first = await SidebandClient.attach(standin, call_id)
        second = await SidebandClient.attach(standin, call_id)
        await asyncio.sleep(0.1)
        since = len(client.events)
        client.send(TYPED_TURN)
        await client.wait_for_type("conversation.item.done", start=since)
        client.send({"type": "response.create"})
        await client.wait_for(lambda e: e["type"] == "output_audio_buffer.stopped", start=since)
        await first.wait_for_type("output_audio_buffer.stopped")
        await second.wait_for_type("output_audio_buffer.stopped")
        await first.close()
        await second.close()
        await client.close()
    browser_events = client.events[since:]
    assert len(browser_events) > 10
    assert first.events == browser_events
    assert second.events == browser_events
    assert len({event["event_id"] for event in first.events}) == len(first.events)


# -- events in: applied to the same session, errors to the sender only -------------------------------------


async def test_client_events_from_a_sideband_drive_the_session_the_browser_sees() -> None:
    async with running_standin() as standin:
        client, call_id = await relayed_call(standin)
        sideband = await SidebandClient.attach(standin, call_id)
        since = len(client.events)
        await sideband.send(
            {"type": "session.update", "session": {"type": "realtime", "instructions": "From the server."}}
        )
        updated = await client.wait_for_type("session.updated", start=since)
        await sideband.send(TYPED_TURN)
        await sideband.send({"type": "response.create"})
        await client.wait_for_type("output_audio_buffer.started", start=since)
        await sideband.send({"type": "output_audio_buffer.clear"})
        cleared = await client.wait_for_type("response.done", start=since)
        await sideband.wait_for_type("output_audio_buffer.cleared")
        await sideband.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
        created = await sideband.wait_for(
            lambda e: e["type"] == "response.created" and e["response"]["id"] != cleared["response"]["id"]
        )
        await sideband.send({"type": "response.cancel"})
        cancelled = await client.wait_for(
            lambda e: e["type"] == "response.done" and e["response"]["id"] == created["response"]["id"],
            start=since,
        )
        state = await _call(standin, call_id)
        await sideband.close()
        await client.close()
    assert updated["session"]["instructions"] == "From the server."
    assert cleared["response"]["status"] == "cancelled"
    assert cancelled["response"]["status"] == "cancelled"
    assert [event["type"] for event in state["sidebands"]["connections"][0]["client_events"]] == [
        "session.update",
        "conversation.item.create",
        "response.create",
        "output_audio_buffer.clear",
        "response.create",
        "response.cancel",
    ]
    assert state["client_events"] == []  # the browser sent none of them


async def test_an_invalid_client_event_from_a_sideband_gets_an_error_on_that_sideband_only() -> None:
    async with running_standin() as standin:
        client, call_id = await relayed_call(standin)
        sender = await SidebandClient.attach(standin, call_id)
        bystander = await SidebandClient.attach(standin, call_id)
        since = len(client.events)
        beta_shaped = {
            "type": "session.update",
            "event_id": "evt_beta",
            "session": {"type": "realtime", "voice": "x"},
        }
        await sender.send_raw(json.dumps(beta_shaped))
        await sender.send_raw("{not json")
        beta = await sender.wait_for_type("error")
        broken = await sender.wait_for_type("error", start=sender.events.index(beta) + 1)
        await sender.send({"type": "response.cancel", "event_id": "evt_nothing"})
        nothing = await sender.wait_for(
            lambda e: e["type"] == "error" and e["error"]["event_id"] == "evt_nothing"
        )
        await asyncio.sleep(0.2)
        await sender.close()
        await bystander.close()
        await client.close()
    assert (beta["error"]["code"], beta["error"]["event_id"]) == ("beta_api_shape_disabled", "evt_beta")
    assert broken["error"]["code"] == "invalid_json"
    assert nothing["error"]["code"] == "response_cancel_not_active"
    assert bystander.events == []
    assert [e for e in client.events[since:] if e["type"] == "error"] == []


# -- keepalive, drops, the end -----------------------------------------------------------------------------


async def test_the_sideband_answers_pings_and_the_state_records_the_last_one() -> None:
    async with running_standin() as standin:
        client, call_id = await relayed_call(standin)
        sideband = await SidebandClient.attach(standin, call_id)
        before = (await _call(standin, call_id))["sidebands"]
        pinged_at = time.time()
        await sideband.ws.ping(b"keepalive")
        await asyncio.sleep(0.2)
        after = (await _call(standin, call_id))["sidebands"]
        still_open = not sideband.closed.is_set()
        await sideband.close()
        await client.close()
    assert before["last_ping_at"] is None
    assert after["last_ping_at"] >= pinged_at - 0.01
    assert after["connections"][0]["pings"] == 1
    assert still_open


async def test_dropping_sidebands_closes_them_with_1001_the_call_goes_on_and_a_new_one_can_attach() -> None:
    async with running_standin() as standin:
        client, call_id = await relayed_call(standin)
        first = await SidebandClient.attach(standin, call_id)
        await asyncio.sleep(0.1)
        dropped = await _post(standin, "/__standin/sidebands/drop", {"call_id": call_id})
        code = await first.wait_closed()
        still = (client.channel.readyState, client.pc.connectionState)
        again = await SidebandClient.attach(standin, call_id)
        since = len(client.events)
        client.send(TYPED_TURN)
        item = await again.wait_for_type("conversation.item.done")
        state = await _call(standin, call_id)
        await again.close()
        await client.close()
    assert dropped == {"closed": {call_id: 1}}
    assert code == 1001
    assert still == ("open", "connected")
    assert item == next(e for e in client.events[since:] if e["type"] == "conversation.item.done")
    assert (state["state"], state["sidebands"]["attached"], state["sidebands"]["attached_total"]) == (
        "connected",
        1,
        2,
    )
    assert [c["close_code"] for c in state["sidebands"]["connections"]] == [1001, None]


async def test_a_hangup_closes_every_sideband_with_1000() -> None:
    async with running_standin() as standin:
        client, call_id = await relayed_call(standin)
        sidebands = [await SidebandClient.attach(standin, call_id) for _ in range(2)]
        await asyncio.sleep(0.1)
        async with standin.http.post(
            f"{standin.base_url}/v1/realtime/calls/{call_id}/hangup",
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as response:
            assert response.status == 200
        codes = [await sideband.wait_closed() for sideband in sidebands]
        state = await _call(standin, call_id)
        await client.close()
    assert codes == [1000, 1000]
    assert (state["ended_by"], state["sidebands"]["attached"]) == ("hangup", 0)


async def test_the_browser_going_away_closes_the_sideband_with_1000() -> None:
    async with running_standin() as standin:
        client, call_id = await relayed_call(standin)
        sideband = await SidebandClient.attach(standin, call_id)
        await client.close()
        code = await sideband.wait_closed(timeout=10.0)
        state = await _call(standin, call_id)
    assert code == 1000
    assert state["ended_by"] == "browser"


async def test_session_expiry_sends_session_expired_to_the_sideband_then_closes_it_with_1000() -> None:
    async with running_standin(session_max_seconds=1.5) as standin:
        client, call_id = await relayed_call(standin)
        sideband = await SidebandClient.attach(standin, call_id)
        code = await sideband.wait_closed(timeout=10.0)
        state = await _call(standin, call_id)
        await client.close()
    assert code == 1000
    assert sideband.events[-1]["type"] == "error"
    assert sideband.events[-1]["error"]["code"] == "session_expired"
    assert state["ended_by"] == "expiry"


async def test_a_client_secret_call_still_works_without_any_sideband() -> None:
    async with connected() as (standin, client):
        client.send(TYPED_TURN)
        await client.wait_for_type("conversation.item.done")
        (call,) = (await standin.state())["calls"]
    assert call["sidebands"] == {"attached": 0, "attached_total": 0, "last_ping_at": None, "connections": []}


async def test_a_companion_closing_its_sideband_leaves_the_call_live() -> None:
    async with running_standin() as standin:
        client, call_id = await relayed_call(standin)
        sideband = await SidebandClient.attach(standin, call_id)
        await sideband.ws.close(code=4000)
        await asyncio.sleep(0.2)
        state = await _call(standin, call_id)
        live = (client.channel.readyState, client.pc.connectionState)
        await client.close()
    assert live == ("open", "connected")
    assert (state["state"], state["ended_by"], state["sidebands"]["attached"]) == ("connected", None, 0)
    assert state["sidebands"]["connections"][0]["close_code"] == 4000
