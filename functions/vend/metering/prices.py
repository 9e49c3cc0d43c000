"""OpenAI's prices per model, in integer micro-dollars (1 USD = 1,000,000) per 1M tokens.

Integers, so that a day's spend adds up exactly (no float drift across thousands of events), and
micro-dollars per 1M tokens, so that every published price is a whole number (the smallest, $0.06,
is 60,000). The table is the function's own; `MODEL_PRICES` (a template parameter) overrides it as
JSON, so a price change needs no release:

    {"gpt-realtime-2.1": {"audio_output": 60, "audio_input": 30},
     "my-model": {"text_input": 1, "text_output": 2, "audio_input": 3, "audio_output": 4}}

Values are dollars per 1M tokens as the model pages print them (`per_minute`: dollars per minute of
audio, for transcription billed by duration; `active_per_minute` / `paused_per_minute`: dollars per
minute of a GPT-Live session, active and in standby). A known model's entry is merged field by field; a new
model's fields are only those it gives, and a usage that needs a price the table lacks is refused
(UnpricedModel), never counted as free.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation

MICRO = 1_000_000
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")  # gpt-realtime-2.1-2026-08-28 → gpt-realtime-2.1
_MAX_DOLLARS = Decimal(1_000_000)  # per 1M tokens or per minute: far above any price, catches typos


class UnpricedModel(LookupError):
    """The table has no price for this model, or for a kind of token its usage reports."""


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """Micro-dollars per 1M tokens (`per_minute`: micro-dollars per minute); None = not priced."""

    text_input: int | None = None
    text_cached_input: int | None = None
    text_cache_write: int | None = None  # Responses: input tokens written to the prompt cache
    text_output: int | None = None
    audio_input: int | None = None
    audio_cached_input: int | None = None
    audio_output: int | None = None
    image_input: int | None = None
    image_cached_input: int | None = None
    per_minute: int | None = None
    # GPT-Live voice, billed per second of session time: micro-dollars per minute of active
    # inference, and per minute paused in standby (None: unpublished, billed at the active rate).
    active_per_minute: int | None = None
    paused_per_minute: int | None = None


PRICE_FIELDS = tuple(field.name for field in fields(ModelPrice))


def _usd(dollars: str) -> int:
    return int(Decimal(dollars) * MICRO)


def _realtime(text: tuple[str, str, str], audio: tuple[str, str, str], image: tuple[str, str]) -> ModelPrice:
    return ModelPrice(
        text_input=_usd(text[0]),
        text_cached_input=_usd(text[1]),
        text_output=_usd(text[2]),
        audio_input=_usd(audio[0]),
        audio_cached_input=_usd(audio[1]),
        audio_output=_usd(audio[2]),
        image_input=_usd(image[0]),
        image_cached_input=_usd(image[1]),
    )


def _transcription(text_in: str, audio_in: str, text_out: str, per_minute: str) -> ModelPrice:
    return ModelPrice(
        text_input=_usd(text_in),
        audio_input=_usd(audio_in),
        text_output=_usd(text_out),
        per_minute=_usd(per_minute),
    )


BUILT_IN: dict[str, ModelPrice] = {
    # Realtime models, per 1M tokens: text in / cached / out, audio in / cached / out. Source: the
    # model pages as transcribed in shared/reference/openai-realtime-ga.md ("Sideband on relayed
    # calls", prices). Image input is not on those pages: it is priced here at the audio input rate
    # (the highest input rate), so that an image is never metered below its cost.
    "gpt-realtime-2.1": _realtime(("4", "0.40", "24"), ("32", "0.40", "64"), ("32", "0.40")),
    "gpt-realtime-2.1-mini": _realtime(("0.60", "0.06", "2.40"), ("10", "0.30", "20"), ("10", "0.30")),
    # Transcription of the user's audio, billed apart from the session. Per 1M tokens: text in /
    # audio in / text out, and the page's per-minute estimate for a usage reported as a duration.
    # gpt-4o-mini-transcribe: developers.openai.com/api/docs/models/compare?model=gpt-4o-mini-transcribe
    # ($1.25 in, $5.00 out) and the pricing page's audio input $3.00, about $0.003 a minute.
    "gpt-4o-mini-transcribe": _transcription("1.25", "3", "5", "0.003"),
    # gpt-4o-transcribe: $2.50 text in, $6.00 audio in, $10.00 text out, about $0.006 a minute
    # (openai-cookbook "Realtime transcription" notebook's price comparison; the pricing page).
    "gpt-4o-transcribe": _transcription("2.50", "6", "10", "0.006"),
    # whisper-1 is billed by the minute only: $0.006 (OpenAI's pricing page, "Transcription").
    "whisper-1": ModelPrice(per_minute=_usd("0.006")),
    # GPT-Live voice, per minute of session time, counted per second: $0.05 active and $0.02 paused
    # in standby (developers.openai.com/api/docs/models/gpt-live-1.1). gpt-live-1's page shows the
    # active price only: its paused seconds are metered at the active rate (metering/live_cost.py),
    # which can only over-count, until MODEL_PRICES sets `paused_per_minute`.
    "gpt-live-1.1": ModelPrice(active_per_minute=_usd("0.05"), paused_per_minute=_usd("0.02")),
    "gpt-live-1": ModelPrice(active_per_minute=_usd("0.05")),
    # GPT-Live's Responses backends, text per 1M tokens: input / cached input / output.
    # gpt-6-luna, the default (developers.openai.com/api/docs/models/gpt-6-luna): $0.10 / $0.01 / $0.50,
    # and $0.125 for input tokens written to the cache.
    "gpt-6-luna": ModelPrice(
        text_input=_usd("0.10"),
        text_cached_input=_usd("0.01"),
        text_cache_write=_usd("0.125"),
        text_output=_usd("0.50"),
    ),
    # gpt-6-sol, the delegation guide's alternative (developers.openai.com/api/docs/models/gpt-6-sol):
    # $2 / $0.20 / $10, cache writes $2.50. Both pages double input and raise output by half above
    # 272K input tokens in one request; a Live backend's context is far below that (GPT-Live's own
    # context is 128K tokens).
    "gpt-6-sol": ModelPrice(
        text_input=_usd("2"),
        text_cached_input=_usd("0.20"),
        text_cache_write=_usd("2.50"),
        text_output=_usd("10"),
    ),
}


@dataclass(frozen=True, slots=True)
class PriceTable:
    models: Mapping[str, ModelPrice]

    def price(self, model: str) -> ModelPrice:
        """The model's prices; a dated snapshot falls back to its family's entry."""
        found = self.models.get(model) or self.models.get(_SNAPSHOT.sub("", model))
        if found is None:
            raise UnpricedModel(
                f"no price for model {model!r}: add it to MODEL_PRICES (dollars per 1M tokens)"
            )
        return found


def price_table(override_json: str = "") -> PriceTable:
    """The built-in table with `override_json` (MODEL_PRICES) applied; ValueError saying what is wrong."""
    models = dict(BUILT_IN)
    if not override_json.strip():
        return PriceTable(models)
    try:
        raw = json.loads(override_json)
    except json.JSONDecodeError as exc:
        raise ValueError(f"MODEL_PRICES is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(raw, dict):
        raise ValueError("MODEL_PRICES must be a JSON object of model id → prices")
    for model, entry in raw.items():
        if not isinstance(entry, dict) or not entry:
            raise ValueError(f"MODEL_PRICES[{model!r}] must be a non-empty object of price → dollars")
        unknown = sorted(set(entry) - set(PRICE_FIELDS))
        if unknown:
            raise ValueError(
                f"MODEL_PRICES[{model!r}] has unknown fields {unknown}; known: {', '.join(PRICE_FIELDS)}"
            )
        parsed = {name: _micro(model, name, value) for name, value in entry.items()}
        models[model] = replace(models.get(model, ModelPrice()), **parsed)
    return PriceTable(models)


def _micro(model: str, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"MODEL_PRICES[{model!r}][{name!r}] must be a number of dollars")
    try:
        dollars = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"MODEL_PRICES[{model!r}][{name!r}] must be a number of dollars") from None
    if not dollars.is_finite() or dollars < 0 or dollars > _MAX_DOLLARS:
        raise ValueError(f"MODEL_PRICES[{model!r}][{name!r}] must be between 0 and {_MAX_DOLLARS} dollars")
    micro = dollars * MICRO
    if micro != micro.to_integral_value():
        raise ValueError(f"MODEL_PRICES[{model!r}][{name!r}] is finer than a micro-dollar")
    return int(micro)
