"""GPT-Live transcripts grouped into turns in the page (web/js/live/transcript-grouper.js) exactly as
openai-python's `TranscriptGrouper` groups them (its policy is the SDKs' own: openai-node's, ported).

Every event is first checked against `openai.types.live`; the same events then go to the SDK's grouping
(driven by a still clock, as the page's is here) and to the page's, and both must produce the same
segment updates in the same order: text, speaker, interval, which turn follows which, and why each
closed. Timer-driven closing (an assistant's silence) is checked on the page's real clock.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from openai.lib.live._transcript_state import TranscriptState
from openai.lib.live._types import TranscriptGrouperOptions, TranscriptSegment, TranscriptSegmentClosedEvent
from playwright.sync_api import Page

from tests.browser.live_events import server_event, transcript

pytestmark = pytest.mark.browser

# The page's grouper on a still clock, fed every event in one go (no timer can fire in between), then
# closed, as the SDK's is below.
GROUP_IN_PAGE = """async ({ events, options }) => {
  const { TranscriptGrouper } = await import('./js/live/transcript-grouper.js');
  const grouper = new TranscriptGrouper(options, () => 0);
  const updates = [];
  grouper.addEventListener('segment', (event) => updates.push(event.detail));
  for (const event of events) grouper.push(event);
  grouper.close();
  return updates;
}"""


def _sdk_updates(events: list[dict[str, Any]], options: dict[str, Any]) -> list[dict[str, Any]]:
    state = TranscriptState(TranscriptGrouperOptions(**options), lambda: 0.0)
    updates: list[Any] = []
    for event in events:
        updates.extend(state.push(server_event(event)) or [])
    updates.extend(state.finish("manual"))
    return [_from_sdk(update) for update in updates]


def _from_sdk(update: TranscriptSegment | TranscriptSegmentClosedEvent) -> dict[str, Any]:
    closed = update.reason if isinstance(update, TranscriptSegmentClosedEvent) else None
    segment = update.segment if isinstance(update, TranscriptSegmentClosedEvent) else update
    return {
        "id": segment.id,
        "previous": segment.previous_id,
        "speaker": segment.speaker,
        "text": segment.text,
        "start": segment.start_ms,
        "end": segment.end_ms,
        "closed": closed,
    }


def _page_updates(page: Page, events: list[dict[str, Any]], options: dict[str, Any]) -> list[dict[str, Any]]:
    js_options = {
        "minTurnSeparationMs": options.get("min_turn_separation_ms", 500),
        "assistantSilenceMs": options.get("assistant_silence_ms", 2000),
        "backchannelMaxDurationMs": options.get("backchannel_max_duration_ms", 1000),
        "backchannelIsolationMs": options.get("backchannel_isolation_ms", 2000),
        "additionalAcknowledgments": list(options.get("additional_acknowledgments", ())),
    }
    updates = page.evaluate(GROUP_IN_PAGE, {"events": events, "options": js_options})
    return [
        {
            "id": u["segment"]["id"],
            "previous": u["segment"]["previousId"],
            "speaker": u["segment"]["speaker"],
            "text": u["segment"]["text"],
            "start": u["segment"]["startMs"],
            "end": u["segment"]["endMs"],
            "closed": u.get("closed"),
        }
        for u in updates
    ]


def _comparable(updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Segment ids are local to a grouper (a counter and a prefix): numbered by first appearance."""
    numbers: dict[str, int] = {}
    for update in updates:
        numbers.setdefault(update["id"], len(numbers))
    return [
        {
            **update,
            "id": numbers[update["id"]],
            "previous": None if update["previous"] is None else numbers[update["previous"]],
        }
        for update in updates
    ]


def _same_as_sdk(page: Page, events: list[dict[str, Any]], **options: Any) -> list[dict[str, Any]]:
    expected = _comparable(_sdk_updates(events, options))
    got = _comparable(_page_updates(page, events, options))
    assert got == expected
    return got


def _closed(updates: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(u["speaker"], u["text"], u["closed"]) for u in updates if u["closed"]]


def test_speaker_changes_make_turns_and_fragments_join_without_added_spaces(page: Page) -> None:
    events = [
        transcript("user", "e1", "What time", 0, 300),
        transcript("user", "e2", " is it?", 300, 700),
        transcript("assistant", "e3", "It is", 1500, 1800),
        transcript("assistant", "e4", " noon.", 1800, 2200),
        transcript("user", "e5", "Thanks.", 3500, 3900),
    ]
    updates = _same_as_sdk(page, events)
    assert _closed(updates) == [
        ("user", "What time is it?", "speaker_change"),
        ("assistant", "It is noon.", "speaker_change"),
        ("user", "Thanks.", "manual"),
    ]


def test_a_short_assistant_acknowledgement_inside_the_users_turn_is_dropped(page: Page) -> None:
    events = [
        transcript("user", "e1", "So I was thinking", 0, 1200),
        transcript("assistant", "e2", "Mhm.", 1300, 1500),
        transcript("user", "e3", "about the trip", 1600, 2600),
        transcript("assistant", "e4", "Where to?", 5000, 5600),
    ]
    updates = _same_as_sdk(page, events)
    assert _closed(updates) == [
        ("user", "So I was thinking about the trip", "speaker_change"),
        ("assistant", "Where to?", "manual"),
    ]


def test_a_delta_seen_twice_counts_once_and_a_timestamp_reset_closes_the_turn(page: Page) -> None:
    events = [
        transcript("user", "e1", "Hello", 0, 400),
        transcript("user", "e1", "Hello", 0, 400),
        transcript("assistant", "e2", "Hi there.", 1200, 1800),
        transcript("user", "e3", "Again", 100, 500),
    ]
    updates = _same_as_sdk(page, events)
    assert ("assistant", "Hi there.", "timestamp_reset") in _closed(updates)
    assert next(u["text"] for u in updates if u["speaker"] == "user") == "Hello"


def test_deltas_of_both_speakers_with_one_interval_put_the_current_speaker_first(page: Page) -> None:
    events = [
        transcript("assistant", "e1", "Sure", 0, 400),
        transcript("user", "e2", "wait", 400, 700),
        transcript("assistant", "e3", ", one moment", 400, 700),
    ]
    _same_as_sdk(page, events)


@pytest.mark.parametrize("seed", range(24))
def test_random_conversations_group_as_the_sdk_groups_them(page: Page, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - a reproducible conversation, not a secret
    words = ["okay", "yeah", "mhm", "uh-huh", "Right.", "so", "the", "weather", "tomorrow", "sure", "Hi"]
    words.append("mm hmm")
    events: list[dict[str, Any]] = []
    at = 0
    for index in range(rng.randint(5, 40)):
        speaker = rng.choice(["user", "assistant"])
        if events and rng.random() < 0.15:
            # another delta of the same interval (both speakers at once)
            start, end = events[-1]["start_ms"], events[-1]["end_ms"]
        elif events and rng.random() < 0.03:
            start = rng.randint(0, 200)  # the timeline starts again
            end = start + rng.randint(0, 900)
        else:
            start = at + rng.choice([0, 50, 200, 450, 550, 1500, 2500, 4000])
            end = start + rng.choice([0, 100, 300, 800, 1200, 2000])
        at = max(at, end)
        event_id = events[-1]["event_id"] if events and rng.random() < 0.05 else f"e{index}"
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 3)))
        if rng.random() < 0.05:
            text = ""
        events.append(transcript(speaker, event_id, text, start, end))
    _same_as_sdk(page, events, additional_acknowledgments=("all right",))


def test_an_assistant_turn_closes_after_its_silence_on_the_pages_clock(page: Page) -> None:
    # Given the SDK's rule with a short silence
    events = [transcript("assistant", "e1", "Done.", 0, 300)]
    # When no more text comes for longer than that
    updates = page.evaluate(
        """async (events) => {
          const { TranscriptGrouper } = await import('./js/live/transcript-grouper.js');
          const grouper = new TranscriptGrouper({ assistantSilenceMs: 150 });
          const updates = [];
          const closed = new Promise((resolve) => grouper.addEventListener('segment', (event) => {
            updates.push(event.detail);
            if (event.detail.closed) resolve();
          }));
          for (const event of events) grouper.push(event);
          await closed;
          return updates;
        }""",
        events,
    )
    # Then the turn is closed for inactivity, with its text
    assert updates[-1]["closed"] == "inactivity"
    assert updates[-1]["segment"]["text"] == "Done."
