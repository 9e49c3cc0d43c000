"""GPT-Live's usage → integer micro-dollars: the voice session's seconds, and its backend's tokens.

- Voice: `session.usage.updated.usage` and `session.closed.usage` are *cumulative* snapshots ("do not
  sum values across usage events"): `seconds` in all, split into `active_seconds` and `paused_seconds`
  for eligible WebRTC sessions. `voice_total_cost` prices one snapshot as the session's cost so far;
  the caller records only its increase. Without the split, every second is priced active (the dearer
  reading). A model without a published standby price has its paused seconds priced active.
- Backend: a delegated Responses turn's `response.completed.response.usage` (Responses' shape:
  `input_tokens`, of which `input_tokens_details.cached_tokens` were read from and `cache_write_tokens`
  written to the prompt cache, and `output_tokens` including reasoning tokens), priced per backend
  model at its text rates.

Each result is rounded *up* to a whole micro-dollar, once, as vend.metering.cost does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vend.metering.cost import _ceil, _count, _mapping, _required, _sum
from vend.metering.prices import PriceTable

__all__ = ["backend_cost", "voice_total_cost"]


def voice_total_cost(model: str, usage: Mapping[str, Any], prices: PriceTable) -> int:
    """The session's voice cost so far, in micro-dollars, from one cumulative usage snapshot."""
    price = prices.price(model)
    active_rate = _required(model, price.active_per_minute, "active voice")
    paused_rate = price.paused_per_minute if price.paused_per_minute is not None else active_rate
    seconds = usage.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
        raise ValueError("usage field 'seconds' must be a non-negative number")
    active = usage.get("active_seconds")
    paused = usage.get("paused_seconds")
    if active is None or paused is None:
        # No breakdown: all of it active. Fractional seconds round up to the next millisecond.
        return _ceil(active_rate * _ceil(round(seconds * 1_000_000), 1000), 60_000)
    active_s, paused_s = _count(usage, "active_seconds"), _count(usage, "paused_seconds")
    # The split adds up to `seconds`; should it not, the larger reading of the active part counts.
    active_s = max(active_s, _ceil(round(seconds * 1_000_000), 1_000_000) - paused_s)
    return _ceil(active_rate * active_s + paused_rate * paused_s, 60)


def backend_cost(model: str, usage: Mapping[str, Any], prices: PriceTable) -> int:
    """What one delegated Responses turn's `usage` costs on `model`, in micro-dollars."""
    price = prices.price(model)
    input_tokens = _count(usage, "input_tokens")
    details = _mapping(usage, "input_tokens_details")
    cached, written = _count(details, "cached_tokens"), _count(details, "cache_write_tokens")
    if cached + written > input_tokens:
        raise ValueError("usage reports more cached and cache-written tokens than input tokens")
    cached_rate = price.text_cached_input if price.text_cached_input is not None else price.text_input
    # A cache write costs more than plain input (1.25 times on the GPT-6 pages); without its price,
    # the written tokens count as plain input (MODEL_PRICES `text_cache_write` sets it).
    write_rate = price.text_cache_write if price.text_cache_write is not None else price.text_input
    terms = (
        (input_tokens - cached - written, price.text_input, "text input"),
        (cached, cached_rate, "cached text input"),
        (written, write_rate, "cache-write text input"),
        (_count(usage, "output_tokens"), price.text_output, "text output"),
    )
    return _ceil(_sum(model, terms), 1_000_000)
