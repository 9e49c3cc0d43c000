"""What the user reads when something goes wrong, through the real paths that produce it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageRecord, Stack
from tests.browser.helpers import STATE_TIMEOUT_MS, answer_session_with, status

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


def test_the_server_writes_the_sentence_and_the_page_shows_it_once(
    page: Page, stack: Stack, page_record: PageRecord
) -> None:
    # Given our handler answering that OpenAI rate-limits it, with its own sentence and Retry-After
    page_record.allow_console_error(r"status of 503")
    sentence = "OpenAI is busy right now. Please try again in 1 second."
    answer_session_with(
        page, 503, {"error": {"code": "upstream_rate_limited", "message": sentence}}, {"Retry-After": "1"}
    )

    _click_connect(page)

    # Then the user reads the server's sentence as it is, not a second one glued on
    expect(page.get_by_role("alert")).to_have_text(sentence)
    expect(status(page)).to_have_text("Disconnected")


def test_a_key_not_stored_yet_is_recognised_by_its_code(
    page: Page, stack: Stack, page_record: PageRecord
) -> None:
    # Given a fresh deployment whose OpenAI key is not in the secret yet
    page_record.allow_console_error(r"status of 500")
    sentence = (
        "The OpenAI API key has not been stored in this stack's secret yet: "
        "run the put-secret-value command from the stack's outputs."
    )
    answer_session_with(page, 500, {"error": {"code": "key_not_stored", "message": sentence}})

    _click_connect(page)

    # Then the page shows the server's sentence, and says that trying again will not help yet
    expect(page.get_by_role("alert")).to_have_text(sentence)
    expect(page.locator("#status-hint")).to_have_text(
        "This site is not set up yet: its operator has to store the OpenAI API key first."
    )
    assert stack.standin.calls() == []


@pytest.mark.parametrize(
    ("code", "sentence", "retry_after", "hint"),
    [
        (
            "quota_exceeded",
            "You have started 10 sessions in 10 minutes, the most this service allows. "
            "You can start another in 7 minutes 30 seconds.",
            "450",
            "",  # the sentence says when: no second time
        ),
        # The pause's sentence names no time: the hint names the clock time
        ("service_paused", "This service is paused by its operators. Please try again later.", "60", None),
    ],
)
def test_a_spent_quota_says_when_to_come_back_and_is_not_retried(
    page: Page,
    stack: Stack,
    page_record: PageRecord,
    code: str,
    sentence: str,
    retry_after: str,
    hint: str | None,
) -> None:
    # Given our handler refusing with a Retry-After far beyond what the page would wait on its own
    page_record.allow_console_error(r"status of (429|503)")
    status_code = 429 if code == "quota_exceeded" else 503
    hits = answer_session_with(
        page, status_code, {"error": {"code": code, "message": sentence}}, {"Retry-After": retry_after}
    )
    clock_time = (
        "s => new Date(Date.now() + s * 1000).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'})"
    )
    before = page.evaluate(clock_time, int(retry_after))

    _click_connect(page)

    # Then the sentence is shown as written, with one time: the server's, or else the clock time
    # (not clamped to 2 minutes)
    expect(page.get_by_role("alert")).to_have_text(sentence)
    after = page.evaluate(clock_time, int(retry_after))  # the minute may turn while the page answers
    if hint is None:
        expected = "|".join(re.escape(f"You can connect again at {time}.") for time in {before, after})
        expect(page.locator("#status-hint")).to_have_text(re.compile(f"^({expected})$"))
    else:
        expect(page.locator("#status-hint")).to_have_text(hint)
    # and no call was lost: none had connected; Connect waits for that time
    expect(status(page)).to_have_text("Not connected")
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_disabled()
    # and the page does not spend the visitor's quota on retries of its own
    page.wait_for_timeout(2500)
    assert hits == [1]


def test_connect_comes_back_on_when_a_refusals_wait_is_over(
    page: Page, stack: Stack, page_record: PageRecord
) -> None:
    # Given a refusal whose wait is short
    page_record.allow_console_error(r"status of 429")
    sentence = (
        "You have started 10 sessions in 10 minutes, the most this service allows. "
        "You can start another in 2 seconds."
    )
    hits = answer_session_with(
        page, 429, {"error": {"code": "quota_exceeded", "message": sentence}}, {"Retry-After": "2"}
    )
    connect_button = page.get_by_role("button", name="Connect", exact=True)

    _click_connect(page)
    expect(page.get_by_role("alert")).to_have_text(sentence)
    expect(connect_button).to_be_disabled()

    # When the time comes, Connect is back, the refusal is gone and the hint says what to do
    expect(connect_button).to_be_enabled(timeout=STATE_TIMEOUT_MS)
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(page.locator("#status-hint")).to_have_text(
        "Press Connect and allow the microphone to start talking."
    )
    expect(status(page)).to_have_text("Not connected")
    assert hits == [1]

    # and it connects
    page.unroute("**/api/session")
    _click_connect(page)
    expect(status(page)).to_have_text("Connected", timeout=STATE_TIMEOUT_MS)


def test_another_open_call_leaves_connect_on(page: Page, stack: Stack, page_record: PageRecord) -> None:
    # Given the visitor's other call (another tab) holding their one place
    page_record.allow_console_error(r"status of 429")
    sentence = (
        "You already have one call open, the most this service allows at once. End it to start another, "
        "or wait: the oldest ends in 9 minutes."
    )
    answer_session_with(
        page, 429, {"error": {"code": "concurrent_calls", "message": sentence}}, {"Retry-After": "540"}
    )

    _click_connect(page)

    # Then Connect stays on: ending that call frees the place at once
    expect(page.get_by_role("alert")).to_have_text(sentence)
    expect(status(page)).to_have_text("Not connected")
    expect(page.locator("#status-hint")).to_have_text("")
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()


def test_a_huge_retry_after_is_shown_clamped(page: Page, stack: Stack, page_record: PageRecord) -> None:
    # Given a throttle (no error code: API Gateway's own answer) asking for an absurd wait
    page_record.allow_console_error(r"status of 429")
    answer_session_with(page, 429, {"message": "Too Many Requests"}, {"Retry-After": "99999999"})

    _click_connect(page)

    # Then the page never tells the user to wait years: the wait is held to two minutes
    expect(page.get_by_role("alert")).to_have_text(
        "Too many people are connecting right now. Try again in 120 s."
    )


@pytest.mark.parametrize(
    "value",
    ["sk-proj-0123456789abcdefghij", "Bearer ek_0123456789abcdef", "", "ek_", "ek_short", 42, None],
    ids=["api-key", "prefixed", "empty", "bare-prefix", "too-short", "number", "null"],
)
def test_anything_but_a_client_secret_is_refused(page: Page, stack: Stack, value: object) -> None:
    # Given /api/session answering 200 with something that is not an `ek_…` client secret
    answer_session_with(page, 200, {"value": value, "expires_at": 1795560406})
    offers: list[str] = []
    page.on(
        "request", lambda request: offers.append(request.url) if "/v1/realtime/calls" in request.url else None
    )

    _click_connect(page)

    # Then the call is not started, the value goes nowhere, and the user is told why
    expect(page.get_by_role("alert")).to_have_text(
        "The service did not hand out a valid pass for the call, so it was not started. "
        "Its operators need to check its setup."
    )
    expect(status(page)).to_have_text("Disconnected")
    assert offers == []
    assert stack.standin.calls() == []
    page.wait_for_function("() => window.__realtimeVendDebug.microphone.stream === null")
