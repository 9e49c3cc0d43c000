"""Where a run's time to the SDP answer goes, timed where each step happens.

The page's click and answer marks, as epoch ms (the browser and the stand-in share this machine's
clock), against the stand-in's record of the session it created: `created_at` (the create is in hand,
its injected RTT paid, its body checked) and `answered_at` (its 201 with the SDP answer leaves). So
click → answer splits into: → the create at OpenAI · OpenAI's own create · → the page holds the answer.
"""

from __future__ import annotations

import json
import math
import urllib.request
from typing import Any

from playwright.sync_api import Page

from bench.connect.samples import Variant

# The page's click (the probe's t0) and its latest answer mark, as epoch ms.
MARKS_AS_EPOCH = """(name) => [
  performance.timeOrigin + window.__bench.t0,
  performance.timeOrigin + (performance.getEntriesByName(name).at(-1)?.startTime ?? NaN),
]"""


def sessions(standin_url: str) -> list[dict[str, Any]]:
    """Every session the stand-in holds: Realtime calls and GPT-Live sessions alike (each has `id`,
    `created_at`, `answered_at` and `sidebands`)."""
    with urllib.request.urlopen(f"{standin_url}/__standin/state", timeout=10) as response:  # noqa: S310 - loopback
        state = json.loads(response.read())
    return [*state["calls"], *state.get("live_sessions", [])]


def session_ids(standin_url: str) -> set[str]:
    return {session["id"] for session in sessions(standin_url)}


def record_legs(page: Page, variant: Variant, standin_url: str, before: set[str]) -> None:
    """The run's three legs to the answer, if exactly one new session was answered (else none)."""
    click, held = page.evaluate(MARKS_AS_EPOCH, f"{variant.mark_prefix}:answer")
    answered = [s for s in sessions(standin_url) if s["id"] not in before and s.get("answered_at")]
    if len(answered) != 1 or not all(isinstance(t, int | float) and math.isfinite(t) for t in (click, held)):
        return  # NaN: no mark
    created_ms, answered_ms = answered[0]["created_at"] * 1000, answered[0]["answered_at"] * 1000
    variant.before_create_ms.append(created_ms - float(click))
    variant.create_ms.append(answered_ms - created_ms)
    variant.answer_leg_ms.append(float(held) - answered_ms)
