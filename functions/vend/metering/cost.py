"""A usage report → integer micro-dollars, with OpenAI's documented arithmetic.

- `response.done.response.usage` "will correspond to billing". Its `input_tokens` are text + audio +
  image tokens (`input_token_details`), and `cached_tokens` are a *subset* of them, billed at the cached
  rate instead of the full one, never on top of it (`cached_tokens_details` splits them by kind).
- Transcription of the user's audio is billed apart, at the transcription model's prices, on
  `conversation.item.input_audio_transcription.completed.usage`: tokens, or a duration in seconds.

One event's cost is rounded *up* to a whole micro-dollar, once, so metering never under-counts (by
less than a micro-dollar per event at most it over-counts). A usage whose details are missing is
priced at the dearer reading: input tokens without a split count as audio, cached tokens without a
split as text (whose discount leaves the audio at its full rate). A field that is present but not a
non-negative integer is a ValueError: the caller falls back to what it charged already.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vend.metering.prices import PriceTable, UnpricedModel

__all__ = ["PriceTable", "UnpricedModel", "response_cost", "transcription_cost"]

_PER_TOKENS = 1_000_000  # prices are per 1M tokens


def response_cost(model: str, usage: Mapping[str, Any], prices: PriceTable) -> int:
    """What one `response.done`'s `usage` costs on `model`, in micro-dollars."""
    price = prices.price(model)
    inputs = _mapping(usage, "input_token_details")
    outputs = _mapping(usage, "output_token_details")
    input_tokens = _count(usage, "input_tokens")
    output_tokens = _count(usage, "output_tokens")

    text_in = _count(inputs, "text_tokens")
    audio_in = _count(inputs, "audio_tokens")
    image_in = _count(inputs, "image_tokens")
    if text_in + audio_in + image_in < input_tokens:  # no (or a partial) split: the rest is audio
        audio_in += input_tokens - text_in - audio_in - image_in
    cached = _count(inputs, "cached_tokens")
    cached_split = _mapping(inputs, "cached_tokens_details")
    if cached_split:
        cached_text = _count(cached_split, "text_tokens")
        cached_audio = _count(cached_split, "audio_tokens")
        cached_image = _count(cached_split, "image_tokens")
    else:
        cached_text = min(cached, text_in)
        cached_audio = min(cached - cached_text, audio_in)
        cached_image = min(cached - cached_text - cached_audio, image_in)
    if cached_text > text_in or cached_audio > audio_in or cached_image > image_in:
        raise ValueError("usage reports more cached tokens than input tokens of that kind")

    text_out = _count(outputs, "text_tokens")
    audio_out = _count(outputs, "audio_tokens")
    if text_out + audio_out < output_tokens:  # no split: the rest is audio, the dearer output
        audio_out += output_tokens - text_out - audio_out

    terms = (
        (text_in - cached_text, price.text_input, "text input"),
        (cached_text, _cached(price.text_cached_input, price.text_input), "cached text input"),
        (audio_in - cached_audio, price.audio_input, "audio input"),
        (cached_audio, _cached(price.audio_cached_input, price.audio_input), "cached audio input"),
        (image_in - cached_image, price.image_input, "image input"),
        (cached_image, _cached(price.image_cached_input, price.image_input), "cached image input"),
        (text_out, price.text_output, "text output"),
        (audio_out, price.audio_output, "audio output"),
    )
    return _ceil(_sum(model, terms), _PER_TOKENS)


def transcription_cost(model: str, usage: Mapping[str, Any], prices: PriceTable) -> int:
    """What one input transcription's `usage` costs on the transcription `model`, in micro-dollars."""
    price = prices.price(model)
    if usage.get("type") == "duration":
        seconds = usage.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
            raise ValueError("a duration usage needs a non-negative number of seconds")
        per_minute = _required(model, price.per_minute, "per-minute transcription")
        # seconds may be fractional: price in micro-dollars per millisecond-minute, then round up once
        return _ceil(per_minute * _ceil_ms(seconds), 60_000)
    inputs = _mapping(usage, "input_token_details")
    input_tokens = _count(usage, "input_tokens")
    text_in = _count(inputs, "text_tokens")
    audio_in = _count(inputs, "audio_tokens")
    if text_in + audio_in < input_tokens:
        audio_in += input_tokens - text_in - audio_in
    terms = (
        (text_in, price.text_input, "text input"),
        (audio_in, price.audio_input, "audio input"),
        (_count(usage, "output_tokens"), price.text_output, "text output"),
    )
    return _ceil(_sum(model, terms), _PER_TOKENS)


def _sum(model: str, terms: tuple[tuple[int, int | None, str], ...]) -> int:
    total = 0
    for tokens, rate, kind in terms:
        if tokens:
            total += tokens * _required(model, rate, kind)
    return total


def _required(model: str, rate: int | None, kind: str) -> int:
    if rate is None:
        raise UnpricedModel(f"no {kind} price for model {model!r}: add it to MODEL_PRICES")
    return rate


def _cached(cached: int | None, full: int | None) -> int | None:
    return full if cached is None else cached  # no discount known: the full rate


def _count(source: Mapping[str, Any], name: str) -> int:
    value = source.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"usage field {name!r} must be a non-negative integer")
    return value


def _mapping(source: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = source.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"usage field {name!r} must be an object")
    return value


def _ceil(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _ceil_ms(seconds: float) -> int:
    return _ceil(round(seconds * 1_000_000), 1000)  # µs first: 0.1 s is not exact in binary
