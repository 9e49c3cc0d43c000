"""The page under its production headers: no key anywhere, no console errors, accessible."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import API_KEY_PATTERN, PageRecord, Stack
from tests.browser.helpers import STATE_TIMEOUT_MS, connect

pytestmark = pytest.mark.browser


def test_page_is_served_under_the_production_security_headers(page: Page, stack: Stack) -> None:
    response = page.request.get(stack.url)
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert f"connect-src 'self' {stack.standin.url};" in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["permissions-policy"].startswith("microphone=(self)")
    assert headers["strict-transport-security"].startswith("max-age=")


def test_page_warms_the_connection_to_the_realtime_endpoint(page: Page, stack: Stack) -> None:
    preconnect = page.locator('link[rel="preconnect"]')

    expect(preconnect).to_have_attribute("href", stack.standin.url)
    expect(preconnect).to_have_attribute("crossorigin", "anonymous")
    # warming the connection is all it does: no request reaches the realtime endpoint before a click
    assert stack.standin.state()["client_secrets_issued"] == 0
    assert stack.standin.calls() == []


def test_no_api_key_reaches_the_browser_and_no_secret_is_stored(
    page: Page, stack: Stack, page_record: PageRecord
) -> None:
    connect(page)
    expect(page.locator(".turn--assistant[data-final='true']").first).to_be_visible(timeout=STATE_TIMEOUT_MS)

    dom = page.content()
    storage: dict[str, Any] = page.evaluate(
        """async () => ({
            local: Object.entries(localStorage), session: Object.entries(sessionStorage),
            cookie: document.cookie, databases: (await indexedDB.databases()).map((d) => d.name),
            caches: await caches.keys(),
        })"""
    )
    assert not API_KEY_PATTERN.search(dom)
    assert "ek_" not in dom
    assert storage == {"local": [], "session": [], "cookie": "", "databases": [], "caches": []}
    bodies = []
    for response in page_record.responses:
        try:
            bodies.append(response.body().decode("utf-8", errors="replace"))
        except Exception:  # noqa: S112 - bodies of redirects/aborted requests are unavailable
            continue
    assert bodies, "responses were recorded"
    leaking = [b[:80] for b in bodies if API_KEY_PATTERN.search(b)]
    assert leaking == []


def _axe(page: Page, axe_source: str) -> list[dict[str, Any]]:
    # Evaluated through the DevTools protocol, which the page's CSP does not govern; nothing is
    # injected into the page's own script sources.
    page.evaluate(axe_source)
    results: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def test_accessibility_scan_finds_no_serious_violation(page: Page, axe_source: str) -> None:
    assert _axe(page, axe_source) == []
    connect(page)
    expect(page.locator(".turn--assistant").first).to_be_visible(timeout=STATE_TIMEOUT_MS)
    assert _axe(page, axe_source) == []


def test_keyboard_alone_can_connect_and_talk(page: Page) -> None:
    # Tab order starts at the first control; Enter activates it
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#status-label")).to_have_text("Connected", timeout=STATE_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Disconnect")).to_be_focused()

    page.get_by_label("Message").focus()
    page.keyboard.type("Hello from the keyboard")
    page.keyboard.press("Enter")
    expect(page.locator(".turn--user", has_text=re.compile("Hello from the keyboard"))).to_be_visible()
