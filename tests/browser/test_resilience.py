"""A call survives a network drop and OpenAI's session limit, keeping the conversation."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Stack
from tests.browser.helpers import (
    RECONNECT_TIMEOUT_MS,
    STATE_TIMEOUT_MS,
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
