"""Relayed calls as a visitor meets them: the page posts its offer to /api/call and holds no credential;
the server's schedule ends each call at its cap, where the page rolls over into a new call or says why
it cannot; one call at a time per visitor; the kill switch; a closing tab gives its call back.

Every stack here runs the real handler in relay mode (`--mode relay`) against the stand-in, with the
scheduled hangup fired by the local scheduler at its time.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect

from tests.browser.conftest import API_KEY_PATTERN, PageRecord, Stack
from tests.browser.helpers import (
    RECONNECT_TIMEOUT_MS,
    STATE_TIMEOUT_MS,
    connect,
    eventually,
    record_states,
    status,
    wait_for_inbound_audio,
    wait_for_states,
)

pytestmark = pytest.mark.browser

CLIENT_SECRET_PATTERN = re.compile(r"ek_[A-Za-z0-9_\-]{8,}")
CALL_URL = re.compile(r"/api/call/call_[0-9a-f]{32}$")
# Local clock time as the page writes it, for a Retry-After of `s` seconds from now.
CLOCK_TIME = (
    "s => new Date(Date.now() + s * 1000).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'})"
)

OpenPage = Callable[..., Page]


def _click_connect(page: Page) -> None:
    page.get_by_role("button", name="Connect", exact=True).click()


def _requests(page: Page) -> list[Request]:
    seen: list[Request] = []
    page.on("request", lambda request: seen.append(request))  # noqa: PLW0108 - a bound builtin cannot
    # carry the attribute Playwright sets on handlers
    return seen


def _deletes(requests: list[Request]) -> list[str]:
    return [r.url for r in requests if r.method == "DELETE"]


def _record_reconnect_reasons(page: Page) -> None:
    """Keeps why the call went 'reconnecting' each time: 'rollover' at the cap, 'dropped' otherwise."""
    page.evaluate(
        """() => {
            window.__reconnectReasons = [];
            window.__realtimeVendDebug.call.addEventListener('statechange', ({ detail }) => {
                if (detail.state === 'reconnecting') window.__reconnectReasons.push(detail.reason);
            });
        }"""
    )


def _reconnect_reasons(page: Page) -> list[str]:
    return list(page.evaluate("() => window.__reconnectReasons"))


def _message_texts(conversation: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (item["role"], part["text"])
        for item in conversation
        for part in item.get("content", [])
        if "text" in part
    ]


def test_a_relayed_call_connects_and_the_page_never_holds_a_credential(
    open_page: OpenPage, relay_stack: Stack, page_record: PageRecord
) -> None:
    page = open_page(relay_stack)
    requests = _requests(page)

    connect(page)
    wait_for_inbound_audio(page)

    # The offer went to our own route, and the call OpenAI saw was opened with the server's key
    offers = [r for r in requests if r.method == "POST"]
    assert [(r.url.removeprefix(relay_stack.url), r.headers["content-type"]) for r in offers] == [
        ("api/call", "application/sdp")
    ]
    calls = relay_stack.standin.calls()
    assert len(calls) == 1
    assert calls[0]["ek_sha256"] is None, "the call was created with a client secret"
    assert calls[0]["data_channel_open"]
    # No credential in any request, any response, the document or any storage
    assert all("authorization" not in r.headers for r in requests)
    assert page.evaluate("() => window.__realtimeVendDebug.config.negotiation") == "relay"
    seen = [page.content()]
    for response in page_record.responses:
        seen.append(json.dumps(response.headers))
        try:
            seen.append(response.body().decode("utf-8", "replace"))
        except Exception:  # noqa: S112 - a body the browser did not keep (a preload, a redirect)
            continue
    seen.append(
        page.evaluate(
            """async () => JSON.stringify({
                local: Object.entries(localStorage), session: Object.entries(sessionStorage),
                cookies: document.cookie, databases: await indexedDB.databases(),
            })"""
        )
    )
    seen.append(json.dumps(page.context.cookies()))
    everything = "\n".join(seen)
    assert not CLIENT_SECRET_PATTERN.search(everything)
    assert not API_KEY_PATTERN.search(everything)
    assert not [r.url for r in requests if "/api/session" in r.url]

    # Hanging up ends our call at the API (DELETE on its Location) and at OpenAI
    page.get_by_role("button", name="Disconnect").click()
    expect(status(page)).to_have_text("Disconnected")
    eventually(lambda: _deletes(requests), lambda urls: len(urls) == 1, "the DELETE of the call")
    assert CALL_URL.search(_deletes(requests)[0])
    eventually(
        lambda: relay_stack.standin.calls()[0],
        lambda call: call["state"] == "closed",
        "OpenAI's side of the call to end",
    )


def test_a_second_call_over_the_visitors_limit_is_refused_with_its_reason(
    open_page: OpenPage, relay_stack: Stack, page_record: PageRecord
) -> None:
    # Given a visitor with a call open in one tab (one call at a time)
    page_record.allow_console_error(r"status of 429")
    first = open_page(relay_stack)
    connect(first)

    # When they connect in a second tab
    second = open_page(relay_stack)
    _click_connect(second)

    # Then the second is refused with the server's sentence, which says when to come back (no second
    # time in the hint); Connect stays on, for ending the first call frees the place; the first goes on
    expect(status(second)).to_have_text("Not connected", timeout=STATE_TIMEOUT_MS)
    alert = second.get_by_role("alert")
    expect(alert).to_be_visible()
    assert alert.text_content()
    expect(second.locator("#status-hint")).to_have_text("")
    expect(second.get_by_role("button", name="Connect", exact=True)).to_be_enabled()
    expect(status(first)).to_have_text("Connected")
    assert len(relay_stack.standin.calls()) == 1

    # and once the first tab hangs up, the second can call
    first.get_by_role("button", name="Disconnect").click()
    expect(status(first)).to_have_text("Disconnected")
    eventually(
        lambda: relay_stack.standin.calls()[0], lambda c: c["state"] == "closed", "the first call to end"
    )
    connect(second)
    second.get_by_role("button", name="Disconnect").click()


def test_closing_the_tab_gives_the_call_back(
    open_page: OpenPage, relay_stack: Stack, browser: Browser
) -> None:
    # Given a call in a tab the visitor then closes (no Disconnect)
    context = browser.new_context()
    try:
        closing = open_page(relay_stack, context=context)
        connect(closing)
        closing.close(run_before_unload=True)

        # Then the next call, from another tab, is accepted: the closing tab's DELETE freed the slot
        eventually(
            lambda: relay_stack.standin.calls()[0],
            lambda c: c["state"] == "closed",
            "the closed tab's call to end",
        )
        other = open_page(relay_stack)
        connect(other)
        other.get_by_role("button", name="Disconnect").click()
        expect(status(other)).to_have_text("Disconnected")
    finally:
        context.close()


def test_the_kill_switch_with_the_pause_switch_ends_a_live_call(
    open_page: OpenPage, relay_stack: Stack, page_record: PageRecord
) -> None:
    # Given a live call, then an operator's incident response: pause, then end every call
    page_record.allow_console_error(r"status of 503")
    page = open_page(relay_stack)
    connect(page)
    record_states(page)
    relay_stack.set_paused(True)
    try:
        # (the function reads the switch at most 5 s late: wait until a request sees it)
        eventually(_paused_answer(relay_stack), lambda code: code == 503, "the pause switch to bite")
        assert relay_stack.kill_switch() == {"ended": 1}

        # Then the call is over at OpenAI, and the page says why and when to come back
        eventually(
            lambda: relay_stack.standin.calls()[0],
            lambda c: c["state"] == "closed" and c["end_reason"] == "hangup",
            "the hangup",
        )
        wait_for_states(page, "reconnecting", "closed")
        expect(page.get_by_role("alert")).to_contain_text("paused")
        expect(page.locator("#status-hint")).to_have_text(re.compile(r"^You can connect again at .+\.$"))
        expect(status(page)).to_have_text("Disconnected")
        assert len(relay_stack.standin.calls()) == 1
    finally:
        relay_stack.set_paused(False)
        eventually(_paused_answer(relay_stack), lambda code: code != 503, "the pause switch to be off")


def _paused_answer(stack: Stack) -> Callable[[], int]:
    """The status of a DELETE of a call nobody has: 503 while paused, 404 otherwise (nothing started)."""
    import urllib.error
    import urllib.request

    def read() -> int:
        request = urllib.request.Request(  # noqa: S310 - our own loopback stack
            f"{stack.url}api/call/call_{'0' * 32}", method="DELETE"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    return read


def test_a_dropped_relayed_call_comes_back_relayed_in_the_visitors_one_slot(
    open_page: OpenPage, relay_stack: Stack
) -> None:
    # Given a relayed call (one call per visitor) with the conversation begun
    page = open_page(relay_stack)
    requests = _requests(page)
    connect(page)
    page.get_by_label("Message").fill("Remember the word marmalade.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".turn--assistant[data-final='true']").first).to_be_visible(timeout=STATE_TIMEOUT_MS)
    record_states(page)

    # When the network drops every packet of the call
    relay_stack.standin.drop()

    # Then the page opens a new relayed call that names the lost one (the server ends it on the way,
    # so the visitor's one slot takes the new call), with the conversation so far
    wait_for_states(page, "reconnecting", "connected")
    expect(page.locator("#status-hint")).to_have_text("Speak, or type a message below.")
    calls = relay_stack.standin.calls()
    assert len(calls) == 2
    assert [c["ek_sha256"] for c in calls] == [None, None]
    assert calls[0]["end_reason"] == "hangup"
    posts = [r for r in requests if r.method == "POST"]
    assert [r.url.removeprefix(relay_stack.url) for r in posts] == ["api/call", "api/call"]
    first_location = posts[0].response().headers["location"]  # type: ignore[union-attr]
    assert CALL_URL.search(first_location)
    assert "replaces-call" not in posts[0].headers
    assert posts[1].headers["replaces-call"] == first_location
    assert _deletes(requests) == []
    eventually(
        lambda: _message_texts(relay_stack.standin.calls()[-1]["conversation"]),
        lambda texts: ("user", "Remember the word marmalade.") in texts,
        "the replayed conversation",
    )
    page.get_by_role("button", name="Disconnect").click()
    expect(status(page)).to_have_text("Disconnected")
    eventually(lambda: _deletes(requests), lambda urls: len(urls) == 1, "the second call's DELETE")


def test_the_scheduled_hangup_rolls_over_into_a_new_call_with_the_conversation(
    open_page: OpenPage, short_call_stack: Stack
) -> None:
    # Given a 10-second call with one exchange on screen
    page = open_page(short_call_stack)
    connect(page)
    record_states(page)
    _record_reconnect_reasons(page)
    # The last minute: a countdown the visitor can see, announced once rather than every second
    expect(page.locator("#call-countdown")).to_have_text(re.compile(r"^This call ends in 0:(0\d|10)$"))
    expect(page.locator("#countdown-announcer")).to_have_text(re.compile(r"^This call ends in 0:(0\d|10)\.$"))
    announced = page.locator("#countdown-announcer").text_content()
    assistant_turn = page.locator(".turn--assistant[data-final='true'] .turn__text").first
    expect(assistant_turn).not_to_be_empty(timeout=STATE_TIMEOUT_MS)
    first_user = page.locator(".turn--user[data-final='true'] .turn__text").first.text_content()
    first_assistant = assistant_turn.text_content()
    page.wait_for_timeout(1500)
    assert page.locator("#countdown-announcer").text_content() == announced

    # When the server's schedule hangs the call up at its cap
    wait_for_states(page, "reconnecting", timeout=RECONNECT_TIMEOUT_MS)
    first = short_call_stack.standin.calls()[0]
    assert first["end_reason"] == "hangup"

    # Then the page carries on in a new call (not counted as a dropped connection) with the
    # conversation so far
    wait_for_states(page, "reconnecting", "connected")
    expect(status(page)).to_have_text("Connected")
    assert _reconnect_reasons(page)[0] == "rollover"
    replayed = eventually(
        lambda: _message_texts(short_call_stack.standin.calls()[-1]["conversation"]),
        lambda texts: len(texts) >= 2,
        "the replayed conversation",
    )
    assert replayed[:2] == [("user", first_user), ("assistant", first_assistant)]
    assert short_call_stack.standin.calls()[-1]["id"] != first["id"]
    expect(page.get_by_role("alert")).to_be_hidden()
    page.get_by_role("button", name="Disconnect").click()
    expect(status(page)).to_have_text("Disconnected")


def test_the_cap_ends_the_call_and_says_when_the_budget_resets(
    open_page: OpenPage, spent_budget_stack: Stack, page_record: PageRecord
) -> None:
    # Given a visitor whose daily minute holds one 35-second call and not a second
    page_record.allow_console_error(r"status of 429")
    page = open_page(spent_budget_stack)
    connect(page)
    record_states(page)
    _record_reconnect_reasons(page)

    # When the server's schedule hangs the call up at its cap
    wait_for_states(page, "reconnecting", "closed", timeout=60_000)

    # Then the page says the call reached its limit, the server's reason, and when it resets
    assert _reconnect_reasons(page) == ["rollover"], "the call was lost before its cap"
    assert spent_budget_stack.standin.calls()[0]["end_reason"] == "hangup"
    # (the server's sentence says when: the hint adds no second time, and Connect waits for it)
    expect(page.get_by_role("alert")).to_have_text(re.compile(r"^The call reached its time limit\. .+"))
    expect(page.locator("#status-hint")).to_have_text("")
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_disabled()
    expect(status(page)).to_have_text("Disconnected")
    expect(page.locator("#call-countdown")).to_be_hidden()
    assert len(spent_budget_stack.standin.calls()) == 1


@pytest.mark.parametrize(
    ("code", "http_status", "sentence", "retry_after", "hint"),
    [
        (
            "quota_exceeded",
            429,
            "You have used your 30 call-minutes for today. They renew at midnight UTC.",
            "7200",
            None,
        ),
        (
            "daily_cap_reached",
            429,
            "This service has used all of today's call-minutes. Calls open again at midnight UTC.",
            "3600",
            None,
        ),
        (
            "concurrent_calls",
            429,
            "You already have a call open. End it, or wait until it ends, to start another.",
            "540",
            None,
        ),
        (
            "service_paused",
            503,
            "This service is paused by its operators. Please try again later.",
            "60",
            None,
        ),
        (
            "invalid_offer",
            400,
            "The request body must be a WebRTC SDP offer with one audio section and one data channel.",
            None,
            "Reload the page and try again. If it happens again, try another browser.",
        ),
        (
            "not_enabled",
            404,
            "Calls are not enabled on this service.",
            None,
            "This site changed how it starts calls. Reload the page, then connect again.",
        ),
    ],
)
def test_each_refusal_shows_the_servers_sentence_and_when_to_retry(
    open_page: OpenPage,
    relay_stack: Stack,
    page_record: PageRecord,
    code: str,
    http_status: int,
    sentence: str,
    retry_after: str | None,
    hint: str | None,
) -> None:
    # Given our handler refusing the call with this code (its body and headers as the function writes them)
    page_record.allow_console_error(rf"status of {http_status}")
    page = open_page(relay_stack)
    hits: list[int] = []

    def refuse(route: Any) -> None:
        hits.append(1)
        headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
        if retry_after:
            headers["Retry-After"] = retry_after
        route.fulfill(
            status=http_status,
            headers=headers,
            body=json.dumps({"error": {"code": code, "message": sentence}}),
        )

    page.route("**/api/call", refuse)
    before = page.evaluate(CLOCK_TIME, int(retry_after or 0))

    _click_connect(page)

    # Then the sentence is shown as written, with one time to come back (or what to do): the server's
    # sentence names it, but for a pause, whose hint names the clock time
    expect(page.get_by_role("alert")).to_have_text(sentence)
    expect(status(page)).to_have_text("Not connected" if retry_after else "Disconnected")
    if code == "service_paused":
        after = page.evaluate(CLOCK_TIME, int(retry_after or 0))
        expected = "|".join(re.escape(f"You can connect again at {time}") for time in {before, after})
        expect(page.locator("#status-hint")).to_have_text(re.compile(f"^({expected})( tomorrow)?\\.$"))
    else:
        expect(page.locator("#status-hint")).to_have_text(hint or "")
    # and the page does not ask again by itself
    page.wait_for_timeout(2000)
    assert hits == [1]
    assert relay_stack.standin.calls() == []
    page.wait_for_function("() => window.__realtimeVendDebug.microphone.stream === null")


def test_a_failed_hangup_is_harmless(
    open_page: OpenPage, relay_stack: Stack, page_record: PageRecord
) -> None:
    # Given the DELETE of the call cannot reach our API
    page_record.allow_console_error(r"ERR_FAILED|Failed to fetch")
    page = open_page(relay_stack)
    connect(page)
    page.route("**/api/call/*", lambda route: route.abort())

    page.get_by_role("button", name="Disconnect").click()

    # Then the page still ends the call cleanly and can start a new one once the slot is free
    expect(status(page)).to_have_text("Disconnected")
    expect(page.get_by_role("alert")).to_be_hidden()
    assert page.evaluate("() => window.__realtimeVendDebug.microphone.stream") is None
    # (without the DELETE the server learns of the end from the call's companion: its sideband closes
    # with the call, and it ends the record and frees the slot; the kill switch then finds nothing)
    page.unroute("**/api/call/*")
    deadline = time.monotonic() + 15
    while _companions_running(relay_stack):  # a companion returns once it has finalised its call
        assert time.monotonic() < deadline, "the companion never ended the call the page left"
        time.sleep(0.2)
    assert relay_stack.kill_switch() == {"ended": 0}
    connect(page)
    page.get_by_role("button", name="Disconnect").click()
    expect(status(page)).to_have_text("Disconnected")


def _companions_running(stack: Stack) -> bool:
    with urllib.request.urlopen(stack.ready["invocations_url"], timeout=5) as response:  # noqa: S310
        listed = json.loads(response.read())
    return any(i["state"] in {"queued", "init", "running"} for i in listed)


@pytest.mark.parametrize(
    ("call_mode", "query", "negotiation"),
    [
        ("both", "debug", "relay"),  # the mode with the server's cap
        ("both", "debug&mode=client_secret", "client_secret"),  # the benchmark's comparison
        ("relay", "debug&mode=client_secret", "relay"),  # a query cannot turn on what the stack turned off
        ("client_secret", "debug&mode=relay", "client_secret"),
        (None, "debug", "client_secret"),  # a config.json from before relayed calls
    ],
)
def test_the_stacks_call_mode_decides_how_the_page_calls(
    open_page: OpenPage,
    context: BrowserContext,
    relay_stack: Stack,
    call_mode: str | None,
    query: str,
    negotiation: str,
) -> None:
    config: dict[str, str] = {
        "sessionUrl": "/api/session",
        "realtimeCallsUrl": f"{relay_stack.standin.url}/v1/realtime/calls",
        "callUrl": "/api/call",
    }
    if call_mode is not None:
        config["callMode"] = call_mode
    context.route(
        "**/config.json",
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(config)),
    )

    page = open_page(relay_stack, query=query, context=context)

    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()
    assert page.evaluate("() => window.__realtimeVendDebug.config.negotiation") == negotiation
    privacy = page.locator("#privacy")
    if negotiation == "relay":
        expect(privacy).to_contain_text("your browser never holds a key")
    else:
        expect(privacy).to_contain_text("short-lived pass")
