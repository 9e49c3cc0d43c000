"""`session.usage.updated`: cumulative usage every `live_usage_interval_seconds` (OpenAI: about once
a minute), with the context window's fill.

`context_window.usage_ratio` is an estimate (OpenAI documents only that it exists and may fall after
compaction): the instructions, the startup input and the transcripts so far at four characters a
token, plus ten tokens per active second of audio, over a 128,000-token window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ..options import StandinOptions
from .usage_meter import UsageMeter

CONTEXT_WINDOW_TOKENS = 128_000
AUDIO_TOKENS_PER_SECOND = 10

Emit = Callable[[dict[str, Any]], None]


def usage_ratio(text_chars: int, active_seconds: int) -> float:
    tokens = text_chars / 4 + active_seconds * AUDIO_TOKENS_PER_SECOND
    return round(min(tokens / CONTEXT_WINDOW_TOKENS, 1.0), 6)


async def report_usage(
    options: StandinOptions, usage: UsageMeter, text_chars: Callable[[], int], emit: Emit
) -> None:
    """Runs for the session's life (cancelled when it ends); the interval is read each time, so a
    test may change it on a running session."""
    while True:
        await asyncio.sleep(options.live_usage_interval_seconds)
        snapshot = usage.snapshot()
        emit(
            {
                "type": "session.usage.updated",
                "usage": snapshot,
                "context_window": {"usage_ratio": usage_ratio(text_chars(), snapshot["active_seconds"])},
            }
        )
