"""A GPT-Live call at its end: our cap (10-second calls, the shortest the function allows) and OpenAI's
own session limit. Either way the page rolls over into a new call and says why, and the new session
starts from the conversation so far (GPT-Live takes history only in its create: `session.input`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PageRecord, Stack
from tests.browser.helpers import RECONNECT_TIMEOUT_MS, STATE_TIMEOUT_MS, connect, eventually, status
from tests.browser.live_stack import LiveStandin, check_exchanged_events, live_stack, reset, tapped_page

pytestmark = pytest.mark.browser

# Each `reconnecting` as the page shows it, read right after the page has rendered it.
RECORD_RECONNECTS = """() => {
  window.__reconnects = [];
  window.__realtimeVendDebug.call.addEventListener('statechange', (event) => {
    if (event.detail.state !== 'reconnecting') return;
    const hint = document.getElementById('status-hint').textContent;
    window.__reconnects.push({ reason: event.detail.reason, hint });
  });
}"""


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[Stack, LiveStandin]]:
    with live_stack(max_call_seconds=10, tools="get_current_time,end_call") as running:
        yield running


@pytest.fixture
def page(browser: Browser, page_record: PageRecord, live: tuple[Stack, LiveStandin]) -> Iterator[Page]:
    stack, standin = live
    reset(standin)
    with tapped_page(browser, page_record, stack) as opened:
        yield opened
    check_exchanged_events(standin)


def _said(page: Page) -> list[dict[str, str]]:
    turns: list[dict[str, str]] = page.evaluate("() => window.__realtimeVendDebug.conversation.turns()")
    return turns


def _input_texts(session: dict[str, Any]) -> list[tuple[str, str]]:
    items = session["created_body"]["session"].get("input") or []
    return [(item["role"], item["content"][0]["text"]) for item in items]


def test_at_the_cap_the_page_says_so_and_the_new_call_carries_the_conversation(
    page: Page, live: tuple[Stack, LiveStandin]
) -> None:
    _, standin = live
    # Given a call in which the visitor and the assistant have spoken
    connect(page)
    page.evaluate(RECORD_RECONNECTS)
    expect(page.locator("#turns .turn--assistant .turn__text").first).not_to_be_empty(
        timeout=STATE_TIMEOUT_MS
    )
    # When the call reaches its cap
    sessions = eventually(standin.sessions, lambda s: len(s) >= 2, "the next session", timeout=40)
    # Then the page said it reached its limit and continued in a new call
    reconnects = page.evaluate("() => window.__reconnects")
    assert reconnects[0] == {
        "reason": "rollover",
        "hint": "The call reached its time limit. Continuing in a new call; the conversation so far is kept.",
    }
    expect(status(page)).to_have_text("Connected", timeout=RECONNECT_TIMEOUT_MS)
    # And the new session was created with what was said before it, the newest last
    first, second = sessions[0], sessions[1]
    assert first["state"] == "closed"
    carried = _input_texts(second)
    said_then = [(turn["role"], turn["text"]) for turn in _said(page)][: len(carried)]
    assert carried == said_then
    assert {role for role, _ in carried} == {"user", "assistant"}
    # (as JSON beside the offer: the page never replays it over the channel)
    assert not [e for e in second["client_events"] if e["type"] == "response.item.create"]
    page.get_by_role("button", name="Disconnect").click()
    expect(status(page)).to_have_text("Disconnected")


def test_at_openais_session_limit_the_page_rolls_over_and_says_whose_limit(
    page: Page, live: tuple[Stack, LiveStandin]
) -> None:
    _, standin = live
    # Given a GPT-Live session that expires after 6 seconds (before our 10-second cap)
    standin.patch(live_max_session_seconds=6)
    try:
        connect(page)
    finally:
        standin.patch(live_max_session_seconds=3600)  # the next sessions: OpenAI's limit is far
    page.evaluate(RECORD_RECONNECTS)
    # When it expires
    eventually(standin.sessions, lambda s: len(s) >= 2, "the next session", timeout=30)
    # Then the page says it was OpenAI's limit, and continues
    reconnects = page.evaluate("() => window.__reconnects")
    assert reconnects[0]["reason"] == "rollover"
    assert reconnects[0]["hint"] == (
        "The voice session reached OpenAI's session limit. Continuing in a new call; "
        "the conversation so far is kept."
    )
    assert standin.sessions()[0]["close_reason"] == "expired"
    expect(status(page)).to_have_text("Connected", timeout=RECONNECT_TIMEOUT_MS)
    page.get_by_role("button", name="Disconnect").click()
    expect(status(page)).to_have_text("Disconnected")
