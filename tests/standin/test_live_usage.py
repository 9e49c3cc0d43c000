"""Usage: `session.usage.updated` snapshots at the configured interval, the final figures in
`session.closed`, and the 15 s billed at create as a floor."""

from __future__ import annotations

import asyncio

from local.openai_standin.live.usage_meter import PREPAID_SECONDS, UsageMeter
from tests.standin.live_client import PAGE_CHANNEL, LiveSideband, live_session
from tests.standin.realtime_client import eventually


async def test_usage_updates_arrive_at_the_interval_cumulative_and_never_below_15_seconds() -> None:
    async with live_session({"live_usage_interval_seconds": 0.3}, client=PAGE_CHANNEL) as (standin, client):
        session_id = client.session_id or ""
        sideband = await LiveSideband.attach_live(standin, session_id)
        await eventually(
            lambda: len([e for e in sideband.events if e["type"] == "session.usage.updated"]) >= 3
        )
        await sideband.send({"type": "session.close", "event_id": "c1"})
        closed = await sideband.wait_for_type("session.closed")
    updates = [e for e in sideband.events if e["type"] == "session.usage.updated"]
    for update in updates:
        usage = update["usage"]
        assert usage["seconds"] >= PREPAID_SECONDS
        assert usage["active_seconds"] + usage["paused_seconds"] == usage["seconds"]
        assert 0 < update["context_window"]["usage_ratio"] < 1
    assert [u["usage"]["seconds"] for u in updates] == sorted(u["usage"]["seconds"] for u in updates)
    assert closed["usage"] == {"seconds": 15.0, "active_seconds": 15, "paused_seconds": 0}
    assert "session.usage.updated" not in [e["type"] for e in client.events]  # the page's filter


async def test_the_default_interval_is_a_minute() -> None:
    async with live_session() as (_, client):
        await asyncio.sleep(1.0)
    assert "session.usage.updated" not in [e["type"] for e in client.events]


def test_seconds_grow_past_the_prepaid_15_and_paused_time_is_split_out() -> None:
    now = [1000.0]
    meter = UsageMeter(lambda: now[0])
    now[0] += 4.9
    assert meter.snapshot() == {"seconds": 15.0, "active_seconds": 15, "paused_seconds": 0}
    meter.pause()
    now[0] += 7.5
    assert meter.snapshot() == {"seconds": 15.0, "active_seconds": 8, "paused_seconds": 7}
    meter.resume()
    now[0] += 20.0
    meter.stop()
    now[0] += 100.0
    assert meter.snapshot() == {"seconds": 32.0, "active_seconds": 25, "paused_seconds": 7}
