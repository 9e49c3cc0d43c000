"""Preparing a call before the click: when the pointer or the focus reaches Connect, the page warms what
it can without opening a session, asking for the microphone or spending anything, and the call adopts
the peer connection it prepared; `?prepare=off` (for the benchmark's comparison) turns it off."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, Request, expect

from tests.browser.conftest import Stack
from tests.browser.helpers import connect, status

pytestmark = pytest.mark.browser

OpenPage = Callable[..., Page]

# Counts what the page asks of the browser, before any page script runs.
INSTRUMENT = """(() => {
    window.__peerConnections = [];
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Native {
        constructor(...args) {
            super(...args);
            window.__peerConnections.push(this);
        }
    };
    window.__microphoneRequests = 0;
    const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (...args) => {
        window.__microphoneRequests += 1;
        return getUserMedia(...args);
    };
})();"""


def _instrumented(context: BrowserContext) -> BrowserContext:
    context.add_init_script(INSTRUMENT)
    return context


def _requests(page: Page) -> list[Request]:
    seen: list[Request] = []
    page.on("request", lambda request: seen.append(request))  # noqa: PLW0108 - a bound builtin cannot
    # carry the attribute Playwright sets on handlers
    return seen


def _peer_connection_states(page: Page) -> list[str]:
    return list(page.evaluate("() => window.__peerConnections.map((pc) => pc.signalingState)"))


@pytest.mark.parametrize("reach", ["hover", "focus"])
@pytest.mark.parametrize("stack_name", ["relay_stack", "stack"])
def test_reaching_connect_prepares_without_asking_or_spending(
    open_page: OpenPage, context: BrowserContext, request: pytest.FixtureRequest, stack_name: str, reach: str
) -> None:
    current: Stack = request.getfixturevalue(stack_name)
    current.standin.reset()
    page = open_page(current, context=_instrumented(context))
    button = page.get_by_role("button", name="Connect", exact=True)
    expect(button).to_be_enabled()
    requests = _requests(page)

    # When the pointer or the keyboard focus reaches the call button
    button.hover() if reach == "hover" else button.focus()

    # Then the page wakes the function and warms WebRTC (a peer connection with an offer, gathered)
    page.wait_for_function("() => window.__realtimeVendDebug.preparation.count === 1")
    page.wait_for_function(
        """() => window.__peerConnections.length === 1
            && window.__peerConnections[0].iceGatheringState === 'complete'"""
    )
    [warm_up] = requests
    assert (warm_up.method, warm_up.url.removeprefix(current.url)) == ("GET", "api/warm")
    answer = warm_up.response()
    assert answer is not None
    assert answer.status == 204
    # carrying no token (tokens go only to the routes that need one) and no cookie
    assert "authorization" not in warm_up.all_headers()
    assert "cookie" not in warm_up.all_headers()
    # without asking for the microphone, opening a call or minting anything
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__microphoneRequests") == 0
    assert [r for r in requests if r.method != "GET"] == []
    assert current.standin.calls() == []
    assert current.standin.state()["client_secrets_issued"] == 0

    # The click makes the call on the peer connection it prepared
    connect(page)
    assert page.evaluate("() => window.__microphoneRequests") == 1
    assert len(current.standin.calls()) == 1
    assert page.evaluate(
        "() => window.__peerConnections.length === 1"
        " && window.__realtimeVendDebug.call.peerConnection === window.__peerConnections[0]"
    )
    page.get_by_role("button", name="Disconnect").click()
    expect(status(page)).to_have_text("Disconnected")


def test_prepare_off_leaves_everything_to_the_click(
    open_page: OpenPage, context: BrowserContext, relay_stack: Stack
) -> None:
    page = open_page(relay_stack, query="debug&prepare=off", context=_instrumented(context))
    button = page.get_by_role("button", name="Connect", exact=True)
    expect(button).to_be_enabled()
    requests = _requests(page)

    button.hover()
    button.focus()
    page.wait_for_timeout(500)

    assert page.evaluate("() => window.__realtimeVendDebug.preparation") is None
    assert _peer_connection_states(page) == []
    assert requests == []
    connect(page)
    page.get_by_role("button", name="Disconnect").click()
    expect(status(page)).to_have_text("Disconnected")


def test_hovering_back_and_forth_prepares_once(
    open_page: OpenPage, context: BrowserContext, relay_stack: Stack
) -> None:
    page = open_page(relay_stack, context=_instrumented(context))
    button = page.get_by_role("button", name="Connect", exact=True)
    expect(button).to_be_enabled()

    requests = _requests(page)

    for _ in range(5):
        button.hover()
        page.mouse.move(0, 0)
    button.focus()

    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__realtimeVendDebug.preparation.count") == 1
    assert len(_peer_connection_states(page)) == 1
    # and wakes the function once: one warm-up per idle spell
    assert [(r.method, r.url.removeprefix(relay_stack.url)) for r in requests] == [("GET", "api/warm")]
