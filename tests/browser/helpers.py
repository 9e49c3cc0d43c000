"""Small waits and reads shared by the browser tests. Every wait is on state, never on time."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from playwright.sync_api import Page, Route, expect

T = TypeVar("T")

# Generous ceilings: they only bound a failing test; passing ones return as soon as the state holds.
STATE_TIMEOUT_MS = 15_000
RECONNECT_TIMEOUT_MS = 30_000


def status(page: Page) -> Any:
    return page.locator("#status-label")


def connect(page: Page) -> None:
    """Clicks Connect and waits until the page says it is connected."""
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(status(page)).to_have_text("Connected", timeout=STATE_TIMEOUT_MS)


def answer_session_with(
    page: Page, http_status: int, body: object, headers: dict[str, str] | None = None
) -> list[int]:
    """/api/session answers as given (as our handler or API Gateway would); returns its hit count."""
    hits: list[int] = []

    def fulfil(route: Route) -> None:
        hits.append(1)
        route.fulfill(
            status=http_status,
            headers={"Content-Type": "application/json", "Cache-Control": "no-store", **(headers or {})},
            body=json.dumps(body),
        )

    page.route("**/api/session", fulfil)
    return hits


def eventually(read: Callable[[], T], check: Callable[[T], bool], what: str, timeout: float = 15.0) -> T:
    """Polls an out-of-page state (the stand-in's) until `check` holds; fails naming `what`."""
    deadline = time.monotonic() + timeout
    value = read()
    while not check(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value: {value!r}")
        time.sleep(0.05)
        value = read()
    return value


def wait_for_inbound_audio(page: Page) -> None:
    """Waits until the assistant's audio carries energy at the browser (RTCInboundRtpStreamStats)."""
    page.wait_for_function(
        """async () => {
            const stats = await window.__realtimeVendDebug.call.inboundAudioStats();
            return stats !== null && stats.totalAudioEnergy > 0 && stats.packetsReceived > 0;
        }""",
        polling=50,
        timeout=STATE_TIMEOUT_MS,
    )


def record_server_events(page: Page) -> None:
    """Starts keeping the type of every server event the page's call receives."""
    page.evaluate(
        """() => {
            window.__serverEventTypes = [];
            window.__realtimeVendDebug.call.addEventListener(
                'serverevent', (event) => window.__serverEventTypes.push(event.detail.type));
        }"""
    )


def server_event_types(page: Page) -> list[str]:
    return list(page.evaluate("() => window.__serverEventTypes"))


def record_states(page: Page) -> None:
    """Starts keeping every state the call passes through (some last only a few milliseconds)."""
    page.evaluate(
        """() => {
            window.__callStates = [];
            window.__realtimeVendDebug.call.addEventListener(
                'statechange', (event) => window.__callStates.push(event.detail.state));
        }"""
    )


def wait_for_states(page: Page, *states: str, timeout: float = RECONNECT_TIMEOUT_MS) -> None:
    """Waits until the call has passed through `states` in this order (others may come between)."""
    page.wait_for_function(
        """(wanted) => {
            let next = 0;
            for (const state of window.__callStates) if (state === wanted[next]) next += 1;
            return next === wanted.length;
        }""",
        arg=list(states),
        timeout=timeout,
    )
