"""The companion against the local GPT-Live stand-in (local/openai_standin/live): a page (an aiortc
peer, as tests/standin connects it) creates a real session, and the companion holds its sideband: the
cap's close, hand-overs, a dropped sideband, the page leaving or closing, expiry, and
close_live_session with the stand-in's WebRTC hangup ignored. Delegation and usage reports:
test_companion_live_delegation.py; what the stand-in cannot be made to do on cue (a throttled claim,
a content close, an outage at the cap): the scripted sideband of test_companion_live.py. Every event
the page gets is checked against openai.types.live by the stand-in tests' client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from local.openai_standin.live.live_call import LiveCall
from tests.functional.test_companion_live import LiveStack, voice_micro_usd
from tests.standin.live_client import LiveClient, live_session
from tests.standin.realtime_client import API_KEY, RunningStandin, eventually
from vend.openai_api.live_close import close_live_session
from vend.secret_values import OpenAIApiKey


class Standin:
    """The stand-in as LiveStack's session host: its sessions are created by a page only."""

    def __init__(self, standin: RunningStandin) -> None:
        self.base_url = standin.base_url

    def open_session(self, session_id: str) -> None:
        raise AssertionError("stand-in sessions are created by the page")


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 40))


def session_of(standin: RunningStandin, client: LiveClient) -> LiveCall:
    return standin.standin.live_sessions[client.session_id or ""]


def attached(standin: RunningStandin, client: LiveClient) -> int:
    return int(session_of(standin, client).sidebands.snapshot()["attached"])


def test_the_companion_closes_a_stand_in_session_at_the_cap_and_meters_its_final_usage(aws: None) -> None:
    outcome: dict[str, Any] = {}

    async def scenario() -> None:
        async with live_session() as (standin, client):  # the page gets every event: session.closed too
            stack = LiveStack(Standin(standin), api_key=API_KEY)
            record, _ = stack.live_call(seconds=3, session_id=client.session_id)
            stack.invocations.start(record.call_id, 0)
            await eventually(lambda: attached(standin, client) == 1)
            closed = await client.wait_for_type("session.closed", timeout=8)
            outcome.update(closed=closed, at=time.time())
            await asyncio.to_thread(stack.invocations.wait, 8)
            outcome.update(stack=stack, record=record)

    run(scenario)
    stack, record, closed = outcome["stack"], outcome["record"], outcome["closed"]
    assert stack.invocations.errors == []
    assert stack.invocations.outcomes == {0: "finalised_cap"}
    assert closed["reason"] == "close_requested"
    assert record.ends_at <= outcome["at"] < record.ends_at + 1
    assert stack.items.finalised_reason(record.call_id) == "cap"
    usage = closed["usage"]
    assert stack.metered(record) == voice_micro_usd(usage["active_seconds"], usage["paused_seconds"])
    assert stack.metered(record) >= voice_micro_usd(15, 0)  # never below the create's 15 s


def test_after_a_dropped_sideband_the_companion_reattaches_and_records_the_page_leaving(aws: None) -> None:
    outcome: dict[str, Any] = {}

    async def scenario() -> None:
        async with live_session() as (standin, client):
            stack = LiveStack(Standin(standin), api_key=API_KEY)
            record, live = stack.live_call(seconds=60, session_id=client.session_id)
            stack.invocations.start(record.call_id, 0)
            await eventually(lambda: attached(standin, client) == 1)
            async with standin.http.post(
                f"{standin.base_url}/__standin/sidebands/drop", json={"call_id": live}
            ) as response:
                assert response.status == 200
            await eventually(lambda: attached(standin, client) == 0)
            await eventually(lambda: attached(standin, client) == 1)  # re-attached by session id
            await client.close()  # the page leaves: GPT-Live ends the session itself
            await asyncio.to_thread(stack.invocations.wait, 8)
            outcome.update(stack=stack, record=record, companion=stack.companions[0])

    run(scenario)
    stack, record = outcome["stack"], outcome["record"]
    assert stack.invocations.errors == []
    assert outcome["companion"].attaches == 2
    reason = stack.items.finalised_reason(record.call_id)
    assert reason in {"remote_hangup", "connection_lost"}  # as GPT-Live said, not ours
    assert stack.invocations.outcomes == {0: f"finalised_{reason}"}
    assert stack.metered(record) >= voice_micro_usd(15, 0)  # session.closed's final usage
    ended = stack.ledger.get(record.call_id)
    assert ended is not None
    assert ended.state == "ended"


def test_close_live_session_ends_a_stand_in_session_whose_webrtc_hangup_is_ignored(aws: None) -> None:
    outcome: dict[str, Any] = {}

    async def scenario() -> None:
        async with live_session() as (standin, client):
            live = client.session_id or ""
            assert standin.standin.options.live_webrtc_hangup == "ignored"
            async with standin.http.post(
                f"{standin.base_url}/v1/live/sessions/{live}/hangup",
                headers={"Authorization": f"Bearer {API_KEY}"},
            ) as response:
                outcome["hangup"] = response.status
            await asyncio.sleep(0.3)
            outcome["after_hangup"] = [e["type"] for e in client.events]
            key = OpenAIApiKey(API_KEY)
            outcome["first"] = await asyncio.to_thread(
                close_live_session, standin.base_url, key, live, deadline=time.monotonic() + 10
            )
            outcome["closed"] = await client.wait_for_type("session.closed", timeout=5)
            outcome["again"] = await asyncio.to_thread(
                close_live_session, standin.base_url, key, live, deadline=time.monotonic() + 10
            )

    run(scenario)
    assert outcome["hangup"] == 200  # answered, and nothing happened: documented for SIP only
    assert "session.closed" not in outcome["after_hangup"]
    assert outcome["first"] is True
    assert outcome["closed"]["reason"] == "close_requested"
    assert outcome["again"] is False  # over: 404 session_not_found at attach


def test_generations_hand_over_a_stand_in_session_and_the_last_closes_it_at_the_cap(aws: None) -> None:
    outcome: dict[str, Any] = {}

    async def scenario() -> None:
        async with live_session() as (standin, client):
            stack = LiveStack(Standin(standin), api_key=API_KEY, deadline_seconds=3.6)
            record, _ = stack.live_call(seconds=9, session_id=client.session_id)
            stack.invocations.start(record.call_id, 0)
            closed = await client.wait_for_type("session.closed", timeout=14)
            outcome.update(
                closed=closed, at=time.time(), attaches=session_of(standin, client).sidebands.snapshot()
            )
            await asyncio.to_thread(stack.invocations.wait, 8)
            outcome.update(stack=stack, record=record)

    run(scenario)
    stack, record, closed = outcome["stack"], outcome["record"], outcome["closed"]
    assert stack.invocations.errors == []
    generations = sorted(stack.invocations.outcomes)
    assert len(generations) >= 3, stack.invocations.outcomes  # at least two hand-overs
    assert all(stack.invocations.outcomes[g] == "handed_over" for g in generations[:-1])
    assert stack.invocations.outcomes[generations[-1]] == "finalised_cap"
    assert outcome["attaches"]["attached_total"] == len(generations)  # one sideband per generation
    assert record.ends_at <= outcome["at"] < record.ends_at + 1
    usage = closed["usage"]  # seen by every generation still attached: counted once
    assert stack.metered(record) == voice_micro_usd(usage["active_seconds"], usage["paused_seconds"])
    assert stack.items.finalised_reason(record.call_id) == "cap"


def test_a_stand_in_session_that_expires_is_finalised_as_expired_without_a_close(aws: None) -> None:
    outcome: dict[str, Any] = {}

    async def scenario() -> None:
        async with live_session({"live_max_session_seconds": 2}) as (standin, client):
            stack = LiveStack(Standin(standin), api_key=API_KEY)
            record, _ = stack.live_call(seconds=60, session_id=client.session_id)
            stack.invocations.start(record.call_id, 0)
            closed = await client.wait_for_type("session.closed", timeout=8)
            await asyncio.to_thread(stack.invocations.wait, 8)
            state = session_of(standin, client).sidebands.snapshot()
            outcome.update(stack=stack, record=record, closed=closed, state=state)

    run(scenario)
    stack, record, closed = outcome["stack"], outcome["record"], outcome["closed"]
    assert closed["reason"] == "expired"
    assert stack.invocations.errors == []
    assert stack.invocations.outcomes == {0: "finalised_expired"}
    assert stack.items.finalised_reason(record.call_id) == "expired"
    client_events = [e["type"] for c in outcome["state"]["connections"] for e in c["client_events"]]
    assert "session.close" not in client_events  # over already: nothing to close
    usage = closed["usage"]
    assert stack.metered(record) == voice_micro_usd(usage["active_seconds"], usage["paused_seconds"])


def test_the_pages_own_close_is_recorded_as_close_requested(aws: None) -> None:
    outcome: dict[str, Any] = {}

    async def scenario() -> None:
        async with live_session() as (standin, client):
            stack = LiveStack(Standin(standin), api_key=API_KEY)
            record, _ = stack.live_call(seconds=60, session_id=client.session_id)
            stack.invocations.start(record.call_id, 0)
            await eventually(lambda: attached(standin, client) == 1)
            client.send({"type": "session.close", "event_id": "page_close"})
            closed = await client.wait_for_type("session.closed", timeout=8)
            await asyncio.to_thread(stack.invocations.wait, 8)
            outcome.update(stack=stack, record=record, closed=closed)

    run(scenario)
    stack, record = outcome["stack"], outcome["record"]
    assert outcome["closed"]["client_event_id"] == "page_close"
    assert stack.invocations.outcomes == {0: "finalised_close_requested"}
    assert stack.items.finalised_reason(record.call_id) == "close_requested"
    ended = stack.ledger.get(record.call_id)
    assert ended is not None
    assert ended.state == "ended"
