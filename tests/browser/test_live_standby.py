"""Standby and typed text off on a GPT-Live stack (`--live-idle-timeout-seconds 2 --live-typed-text off`):
the page says when GPT-Live has paused inference and that speech wakes it, and offers no text box.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PageRecord, Stack
from tests.browser.helpers import STATE_TIMEOUT_MS, connect, eventually, status
from tests.browser.live_stack import LiveStandin, check_exchanged_events, live_stack, reset, tapped_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[Stack, LiveStandin]]:
    flags = ("--live-idle-timeout-seconds", "2", "--live-typed-text", "off")
    with live_stack(*flags, max_call_seconds=600) as running:
        yield running


@pytest.fixture
def page(browser: Browser, page_record: PageRecord, live: tuple[Stack, LiveStandin]) -> Iterator[Page]:
    stack, standin = live
    reset(standin)
    with tapped_page(browser, page_record, stack) as opened:
        yield opened
    check_exchanged_events(standin)


def test_standby_shows_paused_and_speech_wakes_it(page: Page, live: tuple[Stack, LiveStandin]) -> None:
    _, standin = live
    # Given a call in which the visitor has spoken once (the first wake)
    connect(page)
    eventually(lambda: standin.sessions()[0]["standby"]["resumed_count"], lambda n: n >= 1, "the first wake")
    # When nobody speaks for longer than the idle timeout
    standin.patch(mic_turns=False)
    # Then the page says GPT-Live is in standby, and how to wake it
    expect(status(page)).to_have_text("Paused (standby): speak to wake it", timeout=STATE_TIMEOUT_MS)
    # When the visitor speaks again
    standin.patch(mic_turns=True)
    # Then it is listening again
    expect(status(page)).to_have_text("Connected", timeout=STATE_TIMEOUT_MS)
    assert standin.sessions()[0]["standby"]["paused_count"] >= 1
    page.get_by_role("button", name="Disconnect").click()
    expect(status(page)).to_have_text("Disconnected")


def test_with_typed_text_off_there_is_no_text_box_but_a_sentence(
    page: Page, live: tuple[Stack, LiveStandin]
) -> None:
    _, standin = live
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()
    expect(page.get_by_label("Message")).to_be_hidden()
    expect(page.get_by_role("button", name="Send")).to_be_hidden()
    expect(page.get_by_text("Typing is not available on this page: speak to the assistant.")).to_be_visible()
    # and the session the page gets cannot take typed text either
    connect(page)
    expect(page.locator("#status-hint")).to_have_text("Speak to the assistant.")
    allowed = standin.sessions()[0]["created_body"]["session"]["client"]["data_channel"][
        "allowed_client_events"
    ]
    assert "response.item.create" not in allowed
    assert "response.create" not in allowed
