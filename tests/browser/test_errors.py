"""What the user reads when something goes wrong, through the real paths that produce it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageRecord, Stack
from tests.browser.helpers import STATE_TIMEOUT_MS, status

pytestmark = pytest.mark.browser


def _click_connect(page: Page) -> None:
    page.get_by_role("button", name="Connect", exact=True).click()


def test_api_gateway_throttle_says_when_to_try_again(
    page: Page, stack: Stack, page_record: PageRecord
) -> None:
    # Given API Gateway's stage throttle answers 429 {"message": "Too Many Requests"}
    page_record.allow_console_error(r"status of 429")
    stack.faults(throttle_next=1)

    _click_connect(page)

    alert = page.get_by_role("alert")
    expect(alert).to_have_text("Too many people are connecting right now. Try again in 10 s.")
    expect(status(page)).to_have_text("Disconnected")
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()
    assert stack.standin.calls() == []


def test_crashed_function_shows_a_retry_message(page: Page, stack: Stack, page_record: PageRecord) -> None:
    # Given the function fails and API Gateway answers 500 {"message": "Internal Server Error"}
    page_record.allow_console_error(r"status of 500")
    stack.faults(crash_next=1)

    _click_connect(page)

    expect(page.get_by_role("alert")).to_have_text(
        "The service is having trouble starting a session. Try again in a moment."
    )
    expect(status(page)).to_have_text("Disconnected")


def test_connecting_again_after_an_error_works(page: Page, stack: Stack, page_record: PageRecord) -> None:
    page_record.allow_console_error(r"status of 429")
    stack.faults(throttle_next=1)
    _click_connect(page)
    expect(page.get_by_role("alert")).to_be_visible()

    _click_connect(page)

    expect(status(page)).to_have_text("Connected", timeout=STATE_TIMEOUT_MS)
    expect(page.get_by_role("alert")).to_be_hidden()


def test_failed_sdp_exchange_is_explained(page: Page, stack: Stack, page_record: PageRecord) -> None:
    # Given the Realtime endpoint refuses the offer
    page_record.allow_console_error(r"status of 503")
    stack.standin.patch(calls_status=503)

    _click_connect(page)

    expect(page.get_by_role("alert")).to_have_text(
        "The voice service is busy and could not start the call. Try again in a moment."
    )
    expect(status(page)).to_have_text("Disconnected")
    # the microphone the attempt opened is released again
    assert page.evaluate("() => window.__realtimeVendDebug.microphone.stream") is None


def test_denied_microphone_says_how_to_allow_it(denied_page: Page, stack: Stack) -> None:
    _click_connect(denied_page)

    expect(denied_page.get_by_role("alert")).to_have_text(
        "Microphone access was denied. Allow the microphone for this site in your browser settings, "
        "then connect again."
    )
    expect(status(denied_page)).to_have_text("Disconnected")
    assert stack.standin.calls() == []
