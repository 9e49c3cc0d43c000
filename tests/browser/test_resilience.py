"""A call survives a network drop and OpenAI's session limit, keeping the conversation."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageRecord, Stack
from tests.browser.helpers import (
    RECONNECT_TIMEOUT_MS,
    STATE_TIMEOUT_MS,
    answer_session_with,
    connect,
    eventually,
    record_states,
    status,
    wait_for_states,
)

pytestmark = pytest.mark.browser


def _message_texts(conversation: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    texts = []
    for item in conversation:
        for part in item.get("content", []):
            if "text" in part:
                texts.append((item["role"], part["type"], part["text"]))
    return texts


def test_dropped_connection_comes_back_with_a_new_secret_and_the_conversation(
    page: Page, stack: Stack
) -> None:
    # Given a call with one full exchange on screen
    connect(page)
    assistant_turn = page.locator(".turn--assistant[data-final='true'] .turn__text").first
    expect(assistant_turn).not_to_be_empty(timeout=STATE_TIMEOUT_MS)
    first_user = page.locator(".turn--user[data-final='true'] .turn__text").first.text_content()
    first_assistant = assistant_turn.text_content()
    first_call = stack.standin.calls()[0]
    record_states(page)

    # When the network drops every packet both ways
    stack.standin.drop()

    # Then the page goes through "reconnecting" and comes back by itself, on a new call with a new
    # client secret
    wait_for_states(page, "reconnecting", "connected")
    expect(status(page)).to_have_text("Connected")
    calls = stack.standin.calls()
    new_call = calls[-1]
    assert new_call["id"] != first_call["id"]
    assert new_call["ek_sha256"] != first_call["ek_sha256"]
    # and the new session holds the conversation so far, in GA item shapes
    replayed = eventually(
        lambda: _message_texts(stack.standin.calls()[-1]["conversation"]),
        lambda texts: len(texts) >= 2,
        "the replayed conversation",
    )
    assert replayed[:2] == [("user", "input_text", first_user), ("assistant", "output_text", first_assistant)]
    expect(page.locator(".turn--assistant .turn__text").first).to_have_text(first_assistant or "")


def test_session_expiry_rolls_over_to_a_new_session(page: Page, stack: Stack) -> None:
    # Given sessions that hit their maximum duration after two seconds
    stack.standin.patch(session_max_seconds=2.0)
    connect(page)
    first_call = stack.standin.calls()[0]
    record_states(page)

    # Then the page starts a new session by itself when the server says session_expired
    eventually(
        stack.standin.calls,
        lambda calls: len(calls) >= 2 and calls[0]["end_reason"] is not None,
        "a second session after the first expired",
    )
    stack.standin.patch(session_max_seconds=3600.0)
    wait_for_states(page, "reconnecting", "connected")
    expect(status(page)).to_have_text("Connected", timeout=RECONNECT_TIMEOUT_MS)
    calls = stack.standin.calls()
    assert any(
        e["type"] == "error" and e["error"]["code"] == "session_expired" for e in calls[0]["server_events"]
    )
    assert calls[1]["ek_sha256"] != first_call["ek_sha256"]
    expect(page.get_by_role("alert")).to_be_hidden()


# The page's requests to /api/session so far (Resource Timing), in the order they started.
MINTS_SO_FAR = "performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/api/session'))"
BUDGET_SENTENCE = (
    "The connection kept dropping (3 reconnects in 5 minutes), so the call was ended. "
    "Connect again to continue."
)


def test_sessions_that_keep_ending_stop_at_the_remint_budget(page: Page, stack: Stack) -> None:
    # Given sessions capped at one second (the page once minted 19 secrets in 20 s this way, forever)
    stack.standin.patch(session_max_seconds=1.0)
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()  # the page is wired
    record_states(page)
    page.evaluate(
        """() => {
            window.__reconnectingAt = [];
            window.__realtimeVendDebug.call.addEventListener('statechange', (event) => {
                if (event.detail.state === 'reconnecting') window.__reconnectingAt.push(performance.now());
            });
        }"""
    )

    connect(page)

    # Then it re-mints at most 3 times, then closes and says why; the conversation can be resumed
    wait_for_states(page, "connected", "reconnecting", "closed", timeout=90_000)
    expect(page.get_by_role("alert")).to_have_text(BUDGET_SENTENCE)
    expect(page.locator("#status-hint")).to_have_text("Press Connect to continue the conversation.")
    assert stack.standin.state()["client_secrets_issued"] == 4
    assert len(stack.standin.calls()) == 4
    assert page.evaluate("() => window.__realtimeVendDebug.microphone.stream") is None
    # and every re-mint left a second or more after the session before it was lost
    lost_at, minted_at = page.evaluate(
        f"() => [window.__reconnectingAt, ({MINTS_SO_FAR}).map((entry) => entry.startTime)]"
    )
    assert len(minted_at) == 4
    # (the 4th loss finds the budget spent: reconnecting, then closed, with no mint)
    assert len(lost_at) == 4
    waits = [mint - lost for lost, mint in zip(lost_at[:3], minted_at[1:], strict=True)]
    assert all(wait >= 1000 for wait in waits), waits


def test_reconnects_that_keep_failing_stop_at_the_remint_budget(
    page: Page, stack: Stack, page_record: PageRecord
) -> None:
    # Given a working call, then a network drop while the Realtime endpoint refuses every new call
    page_record.allow_console_error(r"status of 503")
    connect(page)
    record_states(page)
    stack.standin.patch(calls_status=503)
    stack.standin.drop()

    # Then each attempt costs a new secret, and after 3 the page stops and says why
    wait_for_states(page, "reconnecting", "closed", timeout=90_000)
    expect(page.get_by_role("alert")).to_have_text(BUDGET_SENTENCE)
    assert stack.standin.state()["client_secrets_issued"] == 4


def test_a_retry_after_beyond_any_timer_waits_instead_of_firing_at_once(
    page: Page, stack: Stack, page_record: PageRecord
) -> None:
    # Given a call that drops while /api/session asks for a wait longer than a timer can hold:
    # 2,147,484 s is just over 2^31-1 ms, which setTimeout reads as a negative delay, i.e. at once
    page_record.allow_console_error(r"status of 503")
    connect(page)
    record_states(page)
    mints = answer_session_with(
        page,
        503,
        {"error": {"code": "upstream_rate_limited", "message": "OpenAI is busy right now."}},
        {"Retry-After": "2147484"},
    )
    stack.standin.drop()
    wait_for_states(page, "reconnecting")
    page.wait_for_function(
        f"() => ({MINTS_SO_FAR}).length >= 2",
        timeout=RECONNECT_TIMEOUT_MS,
    )

    # Then the page waits (the wait is clamped to 120 s, not skipped): a few seconds later it has
    # still asked only once. Absence needs a window; 4 s is several times the page's shortest delay.
    # (wait_for_timeout, not time.sleep: Playwright serves the route only while it runs.)
    page.wait_for_timeout(4000)
    assert len(mints) == 1
    expect(status(page)).to_have_text("Reconnecting…")


# A call of the page's own modules with a short `stableSessionMs`, so a test need not hold a session for
# the page's 20 s: the same code, one option changed. Records when it went 'reconnecting'.
SHORT_STABLE_CALL = """async (stableSessionMs) => {
    const { RealtimeCall } = await import('./js/call/realtime-call.js');
    const { config, microphone, conversation } = window.__realtimeVendDebug;
    const call = new RealtimeCall({ config, microphone, conversation, options: { stableSessionMs } });
    window.__testCall = call;
    window.__reconnectingAt = [];
    call.addEventListener('statechange', (event) => {
        if (event.detail.state === 'reconnecting') window.__reconnectingAt.push(performance.now());
    });
    await call.connect();
    return call.state;
}"""


def test_after_a_stable_session_the_first_reconnect_goes_at_once_and_later_ones_back_off(
    page: Page, stack: Stack, page_record: PageRecord
) -> None:
    # Given a session that has been stable (longer than the call's stableSessionMs)
    page_record.allow_console_error(r"status of 503")
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()  # the page is wired
    assert page.evaluate(SHORT_STABLE_CALL, 1000) == "connected"
    page.wait_for_timeout(1200)

    # When the network drops it while the Realtime endpoint refuses every new call
    stack.standin.patch(calls_status=503)
    stack.standin.drop()
    page.wait_for_function(f"() => ({MINTS_SO_FAR}).length >= 3", timeout=RECONNECT_TIMEOUT_MS)

    # Then the first new secret is asked for at once, with no minimum wait; the next one only after
    # the jittered backoff (at least a second)
    [lost_at], minted_at = page.evaluate(
        f"() => [window.__reconnectingAt, ({MINTS_SO_FAR}).map((entry) => entry.startTime)]"
    )
    assert minted_at[1] - lost_at < 1000, (lost_at, minted_at)
    assert minted_at[2] - minted_at[1] >= 1000, minted_at
    page.evaluate("() => window.__testCall.disconnect()")
