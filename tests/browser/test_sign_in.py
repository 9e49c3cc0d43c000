"""Signed-in visitors, in a real browser: `scripts/local --auth oidc`.

A real OpenID Connect provider (oidc-provider, local/oidc) signs visitors in on its own login page; the
local API Gateway validates their access tokens as the template's JWT authorizer does (issuer, audience,
scope, expiry, signature against the JWKS) and the function counts each subject on its own. Every
visitor in this module browses from 127.0.0.1, so only the subject can tell them apart.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, Request, Route, expect

from local.stack import StackProcess
from tests.browser.conftest import PageRecord, Stack, Standin, _http, _stack_env
from tests.browser.helpers import (
    STATE_TIMEOUT_MS,
    answer_session_with,
    connect,
    eventually,
    record_states,
    status,
    wait_for_states,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Short enough that a test sees a token expire; renewal comes at 70 % of its life.
ACCESS_TOKEN_TTL_SECONDS = 8
QUOTA_PER_SUBJECT = 2
SIGN_IN_AGAIN = "Your sign-in has expired or is no longer valid. Sign in again to continue."


@pytest.fixture(scope="module")
def signed_in_stack() -> Iterator[Stack]:
    args = ("--port", "0", "--auth", "oidc", "--access-token-ttl", str(ACCESS_TOKEN_TTL_SECONDS))
    with StackProcess(
        *args, env=_stack_env(), quota_per_visitor=QUOTA_PER_SUBJECT, daily_cap=10_000
    ) as process:
        assert process.standin_url and process.ready["issuer"], "the stack runs the stand-in and a provider"
        yield Stack(
            url=process.url,
            standin=Standin(process.standin_url),
            execute_api=process.execute_api,
            ready=process.ready,
        )


@pytest.fixture
def visitor(
    open_page: Callable[..., Page], page_record: PageRecord, signed_in_stack: Stack
) -> Callable[[], Page]:
    """A new visitor: a browser context of its own (no cookies at the provider), on the page."""
    signed_in_stack.standin.reset()
    return lambda: open_page(signed_in_stack)


def new_name(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:8]}"


def sign_in(page: Page, name: str, button: str = "Sign in") -> None:
    """Signs in through the provider's own login page and waits until the page says who is signed in."""
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_url(lambda url: "/interaction/" in url, timeout=STATE_TIMEOUT_MS)
    page.locator("input[name=login]").fill(name)
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()
    expect(page.locator("#account-name")).to_have_text(name, timeout=STATE_TIMEOUT_MS)


def accepted(stack: Stack) -> list[dict[str, str]]:
    """Whom the JWT authorizer let through so far, in order."""
    return list(_http("GET", f"{stack.url}__local/authorizer"))


def minted_for(stack: Stack, subject: str) -> int:
    return sum(1 for token in accepted(stack) if token["sub"] == subject)


def test_the_login_page_fetches_nothing_from_elsewhere_and_logs_no_error(
    visitor: Callable[[], Page], signed_in_stack: Stack, page_record: PageRecord
) -> None:
    page = visitor()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(lambda url: "/interaction/" in url, timeout=STATE_TIMEOUT_MS)
    page.wait_for_load_state("load")

    # The local provider's own login page: self-contained (scripts/local is offline), no favicon asked
    issuer = signed_in_stack.ready["issuer"]
    on_login_page = requested[requested.index(page.url) :]
    assert on_login_page == [page.url], f"the login page fetched more: {on_login_page}"
    assert page.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name)") == []
    assert page_record.unexpected_console_errors() == []
    assert page.url.startswith(f"{issuer}/interaction/")
    # and its origin has an (empty) icon for any page of it that a browser asks one for
    with urllib.request.urlopen(f"{issuer}/favicon.ico", timeout=10) as icon:  # noqa: S310 - loopback
        assert icon.status == 204

    # and signing in on it still works
    page.locator("input[name=login]").fill("dora")
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()
    expect(page.locator("#account-name")).to_have_text("dora", timeout=STATE_TIMEOUT_MS)


def test_signed_in_the_page_says_how_to_start_a_call_not_to_sign_in(
    visitor: Callable[[], Page], page_record: PageRecord
) -> None:
    page = visitor()
    expect_asked_to_sign_in(page)

    sign_in(page, new_name("erin"))

    # Signed in, nothing but Connect to press: the hint says so, not "Sign in to talk ..."
    expect(page.locator("#status-hint")).to_have_text(
        "Press Connect and allow the microphone to start talking."
    )
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_visible()
    expect(page.locator("#sign-in")).to_be_hidden()


def expect_asked_to_sign_in(page: Page) -> None:
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_hidden()
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#status-hint")).to_have_text("Sign in to talk to the assistant.")


def test_a_signed_in_visitor_gets_their_own_quota(
    visitor: Callable[[], Page], signed_in_stack: Stack, page_record: PageRecord
) -> None:
    page_record.allow_console_error(r"status of 429 .*/api/session")  # Alice's third mint, refused on purpose
    alice, bob = visitor(), visitor()
    alice_name, bob_name = new_name("alice"), new_name("bob")

    # Nobody signed in: the page asks for it instead of offering a call
    expect_asked_to_sign_in(alice)
    sign_in(alice, alice_name)
    expect(alice.locator("#account")).to_contain_text(f"Signed in as {alice_name}")
    for _ in range(QUOTA_PER_SUBJECT):
        connect(alice)
        alice.get_by_role("button", name="Disconnect").click()
        expect(status(alice)).to_have_text("Disconnected")
    alice.get_by_role("button", name="Connect", exact=True).click()

    # Alice's quota is spent; Bob, from the same address, still has all of his
    expect(alice.locator("#call-error")).to_contain_text(f"You have started {QUOTA_PER_SUBJECT} sessions")
    # (refused before it connected: no call was lost, and Connect waits for the time the server named)
    expect(status(alice)).to_have_text("Not connected")
    expect(alice.locator("#status-hint")).to_have_text("")
    expect(alice.get_by_role("button", name="Connect", exact=True)).to_be_disabled()
    sign_in(bob, bob_name)
    connect(bob)
    assert minted_for(signed_in_stack, alice_name) == QUOTA_PER_SUBJECT + 1
    assert minted_for(signed_in_stack, bob_name) == 1
    assert signed_in_stack.standin.state()["client_secrets_issued"] == QUOTA_PER_SUBJECT + 1


def test_an_expiring_token_is_renewed_before_a_reconnect_needs_it(
    visitor: Callable[[], Page], signed_in_stack: Stack
) -> None:
    page = visitor()
    name = new_name("carol")
    sign_in(page, name)
    connect(page)
    first = next(token for token in accepted(signed_in_stack) if token["sub"] == name)
    refused: list[int] = []
    page.on("response", lambda response: refused.append(response.status) if response.status == 401 else None)

    # Past the first token's expiry, the connection drops: the reconnect must not stall on it
    eventually(
        lambda: page.evaluate("() => Date.now() / 1000"),
        lambda now: now > int(first["exp"]) + 1,
        "the first access token to expire",
        timeout=ACCESS_TOKEN_TTL_SECONDS + 5,
    )
    record_states(page)
    signed_in_stack.standin.drop()
    wait_for_states(page, "reconnecting", "connected")

    mints = [token for token in accepted(signed_in_stack) if token["sub"] == name]
    assert len(mints) == 2
    assert mints[1]["jti"] != first["jti"]
    assert int(mints[1]["iat"]) >= int(first["exp"]) - ACCESS_TOKEN_TTL_SECONDS  # a renewed token
    assert int(mints[1]["exp"]) > int(first["exp"])
    assert refused == []  # renewed ahead of need, not after a refusal


def test_a_tampered_token_is_refused_and_signing_in_again_keeps_the_conversation(
    visitor: Callable[[], Page], signed_in_stack: Stack, page_record: PageRecord
) -> None:
    page_record.allow_console_error(r"status of 401 .*/api/session")  # the tampered token, refused
    page = visitor()
    name = new_name("dave")
    sign_in(page, name)
    connect(page)
    page.locator("#message").fill("Remember the word tangerine.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#turns")).to_contain_text("tangerine")
    tampered: list[str] = []

    def tamper(route: Route, request: Request) -> None:
        header, payload, signature = request.headers["authorization"].removeprefix("Bearer ").split(".")
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        tampered.append(flipped)
        route.continue_(headers={**request.headers, "authorization": f"Bearer {header}.{payload}.{flipped}"})

    page.route("**/api/session", tamper)
    record_states(page)
    signed_in_stack.standin.drop()

    # API Gateway's 401 (no body of ours): the page says what to do, and keeps what was said
    wait_for_states(page, "reconnecting", "closed")
    expect(page.locator("#call-error")).to_have_text(SIGN_IN_AGAIN)
    expect(page.locator("#sign-in")).to_have_text("Sign in again")
    expect(page.locator("#status-hint")).to_have_text(
        "Sign in again to continue; the conversation stays on screen."
    )
    expect(page.locator("#account")).to_be_hidden()
    assert tampered and minted_for(signed_in_stack, name) == 1
    page.unroute("**/api/session")

    # The provider still knows this browser: no login form, straight back, the transcript restored
    page.get_by_role("button", name="Sign in again", exact=True).click()
    expect(page.locator("#account-name")).to_have_text(name, timeout=STATE_TIMEOUT_MS)
    expect(page.locator("#turns")).to_contain_text("tangerine")
    connect(page)
    expect(page.locator("#turns")).to_contain_text("tangerine")
    assert minted_for(signed_in_stack, name) == 2


def test_after_signing_out_the_next_call_asks_to_sign_in(
    visitor: Callable[[], Page], signed_in_stack: Stack
) -> None:
    page = visitor()
    name = new_name("erin")
    sign_in(page, name)
    connect(page)

    # Through the provider's end-session page (it ends its own session too) and back to the page
    with page.expect_navigation(url=f"{signed_in_stack.url}**", timeout=STATE_TIMEOUT_MS):
        page.get_by_role("button", name="Sign out").click()
    expect_asked_to_sign_in(page)
    expect(page.locator("#account")).to_be_hidden()
    page.reload()
    expect_asked_to_sign_in(page)  # signed out stays signed out: no silent sign-in on reload

    # Signing in again means the login page again: the provider's session is over as well
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(lambda url: "/interaction/" in url, timeout=STATE_TIMEOUT_MS)
    expect(page.locator("input[name=login]")).to_be_visible()


def test_a_token_without_the_scope_is_told_apart_from_an_expired_one(
    visitor: Callable[[], Page], signed_in_stack: Stack, page_record: PageRecord
) -> None:
    page_record.allow_console_error(r"status of 403 .*/api/session")
    page = visitor()
    sign_in(page, new_name("gus"))
    # API Gateway's answer to a valid token that lacks the route's scope
    hits = answer_session_with(page, 403, {"message": "Forbidden"})

    page.get_by_role("button", name="Connect", exact=True).click()

    expect(page.locator("#call-error")).to_have_text(
        "Your account is not allowed to start calls here. "
        "Sign in with another account, or ask the site's owner for access."
    )
    expect(page.locator("#account")).to_be_visible()  # still signed in: signing in again would not help
    assert hits == [1]


def test_a_reload_signs_the_visitor_in_again_without_the_login_page(
    visitor: Callable[[], Page], signed_in_stack: Stack
) -> None:
    page = visitor()
    name = new_name("fay")
    sign_in(page, name)
    login_pages: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: login_pages.append(frame.url) if "/interaction/" in frame.url else None,
    )

    # The tokens were in memory only; the provider remembers the visitor, so no form and no click
    page.reload()

    expect(page.locator("#account-name")).to_have_text(name, timeout=STATE_TIMEOUT_MS)
    assert login_pages == []
    assert "debug" in page.url and "code=" not in page.url  # the page's own query back, the code gone
    connect(page)
    assert minted_for(signed_in_stack, name) == 1


def test_without_a_token_the_api_answers_401_and_mints_nothing(signed_in_stack: Stack) -> None:
    signed_in_stack.standin.reset()

    response = _raw_post(f"{signed_in_stack.url}api/session")

    assert response[0] == 401
    assert json.loads(response[1]) == {"message": "Unauthorized"}
    assert signed_in_stack.standin.state()["client_secrets_issued"] == 0


def _raw_post(url: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - the local stack's loopback URL
        url, data=b"{}", method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
