"""A dead network path is noticed in about a second, and a healthy quiet call is never taken for one.

Chromium alone needs ~5.5 s of unanswered ICE consent checks to call a path `disconnected`; the page
reads the selected candidate pair's statistics instead (web/js/call/peer-session.js).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Stack
from tests.browser.helpers import (
    STATE_TIMEOUT_MS,
    connect,
    record_states,
    status,
    wait_for_inbound_audio,
    wait_for_states,
)

pytestmark = pytest.mark.browser

# The module the page runs: importing it again from the page yields the same instance.
LEARNED = "async () => (await import('./js/call/peer-session.js')).learnedCadence()"


def _wait_until_the_page_knows_the_remote_streams(page: Page) -> None:
    page.wait_for_function(
        f"async () => {{ const c = await ({LEARNED})(); return c.streams && !c.pauses; }}",
        polling=100,
        timeout=STATE_TIMEOUT_MS,
    )


def test_a_dropped_path_is_noticed_in_under_3_seconds_and_the_call_comes_back(
    page: Page, stack: Stack
) -> None:
    # Given a live call whose assistant streams audio (silence while idle, as the stand-in does)
    connect(page)
    wait_for_inbound_audio(page)
    _wait_until_the_page_knows_the_remote_streams(page)
    first_call = stack.standin.calls()[0]["id"]
    page.evaluate(
        """() => {
            window.__reconnectingAt = null;
            window.__realtimeVendDebug.call.addEventListener('statechange', (event) => {
                if (event.detail.state === 'reconnecting' && window.__reconnectingAt === null) {
                    window.__reconnectingAt = performance.now();
                }
            });
        }"""
    )
    record_states(page)

    # When every packet is dropped both ways
    dropped_at = page.evaluate("() => performance.now()")
    stack.standin.drop()

    # Then the page says "Reconnecting…" within 3 s of the drop (Chromium's own signal takes ~7 s)
    page.wait_for_function("() => window.__reconnectingAt !== null", timeout=10_000, polling=20)
    noticed_ms = page.evaluate("() => window.__reconnectingAt") - dropped_at
    assert noticed_ms < 3000, f"the drop was noticed after {noticed_ms:.0f} ms"
    # and comes back on a new call
    wait_for_states(page, "reconnecting", "connected")
    expect(status(page)).to_have_text("Connected")
    assert stack.standin.calls()[-1]["id"] != first_call


def test_a_quiet_healthy_call_stays_connected(page: Page, stack: Stack) -> None:
    # Given a call where nobody speaks: no turns from the microphone, no reply from the assistant
    stack.standin.patch(mic_turns=False)
    connect(page)
    wait_for_inbound_audio(page)
    # (the detector is armed: silence alone would now count as a dead path)
    _wait_until_the_page_knows_the_remote_streams(page)
    record_states(page)

    # When 12 s pass (absence needs a window: this one covers two of Chromium's ICE consent checks,
    # every ~5 s, and ~60 statistics readings, ten times the detector's longest proof window)
    started = time.monotonic()
    page.wait_for_timeout(12_000)

    # Then the call never left "connected" and is still the first one
    assert time.monotonic() - started >= 12
    assert page.evaluate("() => window.__callStates") == []
    expect(status(page)).to_have_text("Connected")
    calls = stack.standin.calls()
    assert len(calls) == 1
    assert calls[0]["state"] == "connected"
    assert calls[0]["relay"]["dropped"] == 0


# The detector itself, fed a scripted remote: one that pauses its audio when idle (as some servers
# do) but answers our ICE checks. Minutes of such a call are simulated in a few milliseconds.
SIMULATE = """async ({ pauses, deadAfterMs, durationMs, speakingMs }) => {
  const { PATH_WATCH_DEFAULTS } = await import('./js/call/peer-session.js');
  const { DeadPathDetector } = await import('./js/call/dead-path.js');
  const detector = new DeadPathDetector(PATH_WATCH_DEFAULTS, { streams: false, pauses: false });
  const poll = PATH_WATCH_DEFAULTS.pollMs;
  let lastReceivedAt = 0;
  let requestsSent = 0;
  let received = 0;
  for (let at = 0; at <= durationMs; at += poll) {
    const dead = deadAfterMs !== null && at >= deadAfterMs;
    // Chromium checks the path every 2.5 s; a live path answers within a round trip (50 ms).
    const checked = Math.floor(at / 2500) > Math.floor((at - poll) / 2500);
    if (checked) requestsSent += 1;
    if (!dead) {
      const speaking = speakingMs.some(([from, to]) => at >= from && at < to);
      if (!pauses || speaking) { lastReceivedAt = at - 10; received += 10; }
      else if (checked) { lastReceivedAt = at - poll + 50; received += 1; }
    }
    const speaking = speakingMs.some(([from, to]) => at >= from && at < to);
    const verdict = detector.observe(
      { at, pairId: 'p', lastReceivedAt, received, requestsSent, roundTripMs: 50 }, speaking);
    if (verdict) return { verdict, at, cadence: detector.cadence };
  }
  return { verdict: null, at: durationMs, cadence: detector.cadence };
}"""


def _simulate(page: Page, **scenario: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {"pauses": False, "deadAfterMs": None, "durationMs": 60_000, "speakingMs": []}
    result: dict[str, Any] = page.evaluate(SIMULATE, defaults | scenario)
    return result


def test_a_remote_that_pauses_when_idle_is_not_taken_for_dead_over_a_minute(page: Page) -> None:
    # A remote that streams only while the assistant speaks, and answers ICE checks all along
    result = _simulate(page, pauses=True, speakingMs=[[2000, 6000], [20_000, 23_000]])
    assert result["verdict"] is None
    assert result["cadence"] == {"streams": False, "pauses": True}


def test_a_remote_that_pauses_when_idle_is_still_found_dead_by_unanswered_checks(page: Page) -> None:
    result = _simulate(page, pauses=True, speakingMs=[[2000, 6000]], deadAfterMs=30_000)
    assert result["verdict"] == "unanswered"
    # two unanswered checks 2.5 s apart, the second one 600 ms old at most later
    assert 30_000 < result["at"] <= 30_000 + 2 * 2500 + 800


def test_a_streaming_remote_is_found_dead_after_one_second_of_silence(page: Page) -> None:
    result = _simulate(page, deadAfterMs=10_000)
    # the last packet came at 9,790 ms: the first reading 1 s after it
    assert result == {"verdict": "streaming", "at": 10_800, "cadence": {"streams": True, "pauses": False}}


def test_silence_while_the_assistant_speaks_is_a_dead_path_even_before_the_remote_is_known(
    page: Page,
) -> None:
    result = _simulate(page, pauses=True, speakingMs=[[0, 60_000]], deadAfterMs=500)
    assert result["verdict"] == "speaking"
    assert result["at"] <= 500 + 1000 + 200
