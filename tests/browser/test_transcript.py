"""The transcript as the user reads it: exactly the words said, quick to draw, wrapped, followed."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Stack
from tests.browser.helpers import STATE_TIMEOUT_MS, connect, record_states, status, wait_for_states

pytestmark = pytest.mark.browser

# Feeds server events into the page's own conversation one per task, as the data channel delivers
# them, and resolves once the page has drawn `expected` characters into the transcript.
FEED = """async ({ events, expected }) => {
  const { conversation } = window.__realtimeVendDebug;
  const text = () => [...document.querySelectorAll('#turns .turn__text')]
    .reduce((sum, p) => sum + p.textContent.length, 0);
  await new Promise((resolve) => {
    const channel = new MessageChannel();
    let next = 0;
    channel.port1.onmessage = () => {
      conversation.applyServerEvent(events[next]);
      next += 1;
      if (next < events.length) channel.port2.postMessage(null);
      else { channel.port1.close(); resolve(); }
    };
    channel.port2.postMessage(null);
  });
  while (text() < expected) await new Promise((resolve) => requestAnimationFrame(resolve));
}"""


def _deltas(item_id: str, pieces: list[str]) -> list[dict[str, Any]]:
    return [
        {"type": "response.output_audio_transcript.delta", "item_id": item_id, "delta": p} for p in pieces
    ]


def _feed(page: Page, events: list[dict[str, Any]], expected: int) -> None:
    # The page exposes its conversation once its configuration has loaded, as Connect becomes usable.
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()
    page.evaluate(FEED, {"events": events, "expected": expected})


def test_streamed_turns_read_exactly_as_said(page: Page) -> None:
    # Given a user turn and an assistant turn streamed in pieces that split words, accents and an
    # emoji's surrogate pair across deltas, with markup-like text that must stay text
    user = "Wie spät ist es in Zürich? <b>bitte</b> 🙂"
    said = "In Zürich ist es 14:05 🕑 — <script>x</script> & danke."
    events = [
        {"type": "input_audio_buffer.speech_started", "item_id": "item_user"},
        *[
            {"type": "conversation.item.input_audio_transcription.delta", "item_id": "item_user", "delta": p}
            for p in (user[:5], user[5:21], user[21:-1], user[-1:])
        ],
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "item_user",
            "transcript": user,
        },
        *_deltas("item_reply", [said[i : i + 3] for i in range(0, len(said), 3)]),
    ]

    # When the page receives them
    _feed(page, events, len(user) + len(said))

    # Then the page shows each turn word for word, as text
    expect(page.locator(".turn--user .turn__text")).to_have_text(user)
    expect(page.locator(".turn--assistant .turn__text")).to_have_text(said)
    assert page.locator("#turns b, #turns script").count() == 0

    # and a final transcript that differs from the deltas replaces them
    final = "In Zürich ist es fünf nach zwei."
    page.evaluate(
        """(transcript) => window.__realtimeVendDebug.conversation.applyServerEvent({
            type: 'response.output_audio_transcript.done', item_id: 'item_reply', transcript })""",
        final,
    )
    expect(page.locator(".turn--assistant .turn__text")).to_have_text(final)
    expect(page.locator(".turn--assistant")).to_have_attribute("data-final", "true")
    expect(page.locator(".turn")).to_have_count(2)


@pytest.mark.parametrize("cut", ["disconnect", "dropped connection"])
def test_a_reply_cut_off_mid_call_keeps_its_words_and_loses_its_typing_cursor(
    page: Page, stack: Stack, cut: str
) -> None:
    # Given the assistant in the middle of a long spoken reply (the stand-in echoes what it is sent;
    # the microphone stays quiet, so the reply to the typed text is the only one)
    stack.standin.patch(mic_turns=False)
    connect(page)
    page.get_by_label("Message").fill(" ".join(["Tell me about the harbour of Lisbon."] * 10))
    page.get_by_role("button", name="Send").click()
    reply = page.locator(".turn--assistant", has_text="Lisbon")
    expect(reply).to_have_attribute("data-final", "false", timeout=STATE_TIMEOUT_MS)
    expect(reply.locator(".turn__text")).to_contain_text("Lisbon")

    # When the session speaking it goes away before the reply is done
    if cut == "disconnect":
        page.get_by_role("button", name="Disconnect").click()
        expect(status(page)).to_have_text("Disconnected")
    else:
        record_states(page)
        stack.standin.drop()
        # (the page notices the drop first: "Connected" alone would be the old call's)
        wait_for_states(page, "reconnecting", "connected")
        expect(status(page)).to_have_text("Connected", timeout=STATE_TIMEOUT_MS)

    # Then the words said so far stay, as a turn that has ended: no cursor still typing
    expect(reply).to_have_attribute("data-final", "true", timeout=STATE_TIMEOUT_MS)
    assert reply.locator(".turn__text").text_content()
    cursor = "el => getComputedStyle(el, '::after').content"
    assert reply.locator(".turn__text").evaluate(cursor) == "none"


def test_a_long_stream_costs_little_main_thread_time(page: Page) -> None:
    # Given a reply streamed as 4,096 deltas (the page once took 23-39 s of main thread for this)
    words = ["the ", "quick ", "brown ", "fox ", "jumps ", "over ", "a ", "lazy ", "dog. "]
    pieces = [words[i % len(words)] for i in range(4096)]
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})  # CPU time: load elsewhere does not count

    def main_thread_seconds() -> float:
        metrics = cdp.send("Performance.getMetrics")["metrics"]
        return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))

    before = main_thread_seconds()
    _feed(page, _deltas("item_long", pieces), sum(map(len, pieces)))
    spent = main_thread_seconds() - before

    # Then the whole text is there, and drawing it kept the page responsive (bench/transcript has
    # the figures: ~0.1-0.4 s here; the bound leaves room for a slow machine)
    expect(page.locator(".turn--assistant .turn__text")).to_have_text("".join(pieces))
    assert spent < 2.0, f"4,096 deltas took {spent:.2f} s of main thread"


def test_long_unbroken_text_wraps_inside_its_turn(page: Page) -> None:
    # Given 50 KB with no space to break at (a URL, a hash, a run of one letter)
    blob = "x" * 50_000

    _feed(page, _deltas("item_blob", [blob]), len(blob))

    # Then it wraps inside the transcript: nothing overflows sideways, the page keeps its width
    sizes = page.evaluate(
        """() => {
            const transcript = document.getElementById('transcript');
            const turn = document.querySelector('.turn--assistant');
            return {
                transcript: [transcript.scrollWidth, transcript.clientWidth],
                turn: turn.getBoundingClientRect().right <= transcript.getBoundingClientRect().right + 1,
                page: [document.documentElement.scrollWidth, window.innerWidth],
            };
        }"""
    )
    assert sizes["transcript"][0] <= sizes["transcript"][1]
    assert sizes["turn"]
    assert sizes["page"][0] <= sizes["page"][1]


def test_transcript_follows_the_latest_words_unless_the_reader_scrolled_back(page: Page) -> None:
    # Given a conversation longer than the transcript's box
    pieces = [f"sentence {i} of a long answer. " for i in range(400)]
    _feed(page, _deltas("item_first", pieces), sum(map(len, pieces)))

    # Then the newest words are in view
    at_bottom = """() => { const t = document.getElementById('transcript');
        return t.scrollHeight - t.scrollTop - t.clientHeight < 2; }"""
    page.wait_for_function(at_bottom)

    # When the reader scrolls back to the start and more text arrives
    page.evaluate("() => { document.getElementById('transcript').scrollTop = 0; }")
    more = [f"more {i}. " for i in range(200)]
    _feed(page, _deltas("item_second", more), sum(map(len, pieces + more)))

    # Then the page leaves them where they are reading
    assert page.evaluate("() => document.getElementById('transcript').scrollTop") == 0
