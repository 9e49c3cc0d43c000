"""Cost arithmetic: OpenAI's rules (cached ⊂ input, transcription apart), integers, never under."""

from __future__ import annotations

from typing import Any

import pytest

from vend.metering.cost import response_cost, transcription_cost
from vend.metering.prices import UnpricedModel, price_table

PRICES = price_table()


def usage(**details: Any) -> dict[str, Any]:
    return details


def test_one_minute_of_audio_each_way_costs_what_limits_md_says() -> None:
    # docs/limits.md: 600 tokens in ($32/1M) + 1,200 out ($64/1M) a minute = $0.096
    minute = {
        "input_tokens": 600,
        "output_tokens": 1200,
        "input_token_details": {"audio_tokens": 600, "text_tokens": 0, "cached_tokens": 0},
        "output_token_details": {"audio_tokens": 1200, "text_tokens": 0},
    }
    assert response_cost("gpt-realtime-2.1", minute, PRICES) == 96_000


def test_cached_tokens_are_a_subset_of_input_billed_at_the_cached_rate_not_on_top() -> None:
    report = {
        "input_tokens": 1000,
        "output_tokens": 0,
        "input_token_details": {
            "text_tokens": 400,
            "audio_tokens": 600,
            "cached_tokens": 500,
            "cached_tokens_details": {"text_tokens": 300, "audio_tokens": 200},
        },
    }
    # text: 100 at $4 + 300 at $0.40; audio: 400 at $32 + 200 at $0.40 (per 1M tokens)
    expected = 100 * 4 + 300 * 0.4 + 400 * 32 + 200 * 0.4
    assert response_cost("gpt-realtime-2.1", report, PRICES) == round(expected)


def test_text_output_and_the_mini_model_have_their_own_rates() -> None:
    report = {
        "input_tokens": 1_000_000,
        "output_tokens": 1_000_000,
        "input_token_details": {"text_tokens": 1_000_000},
        "output_token_details": {"text_tokens": 1_000_000},
    }
    assert response_cost("gpt-realtime-2.1-mini", report, PRICES) == 600_000 + 2_400_000
    assert response_cost("gpt-realtime-2.1", report, PRICES) == 4_000_000 + 24_000_000


def test_a_fraction_of_a_micro_dollar_rounds_up_once_per_event() -> None:
    one_token = {"input_tokens": 1, "input_token_details": {"text_tokens": 1}}
    assert response_cost("gpt-realtime-2.1", one_token, PRICES) == 4  # $4 per 1M tokens: 4 µ$ each
    cached = {"input_tokens": 1, "input_token_details": {"text_tokens": 1, "cached_tokens": 1}}
    assert response_cost("gpt-realtime-2.1", cached, PRICES) == 1  # 0.4 µ$, rounded up
    assert response_cost("gpt-realtime-2.1", {}, PRICES) == 0


def test_missing_details_are_priced_at_the_dearer_reading() -> None:
    no_split = {"input_tokens": 100, "output_tokens": 100}
    as_audio = {
        "input_tokens": 100,
        "output_tokens": 100,
        "input_token_details": {"audio_tokens": 100},
        "output_token_details": {"audio_tokens": 100},
    }
    assert response_cost("gpt-realtime-2.1", no_split, PRICES) == response_cost(
        "gpt-realtime-2.1", as_audio, PRICES
    )
    cached_no_split = {
        "input_tokens": 100,
        "input_token_details": {"text_tokens": 50, "audio_tokens": 50, "cached_tokens": 60},
    }
    # 50 cached text, 10 cached audio, 40 full-rate audio
    assert response_cost("gpt-realtime-2.1", cached_no_split, PRICES) == -(
        -(50 * 400_000 + 10 * 400_000 + 40 * 32_000_000) // 1_000_000
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"input_tokens": -1},
        {"input_tokens": 1.5},
        {"input_tokens": True},
        {"input_token_details": []},
        {
            "input_tokens": 10,
            "input_token_details": {"text_tokens": 10, "cached_tokens_details": {"audio_tokens": 1}},
        },
    ],
)
def test_a_malformed_usage_is_a_value_error(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="usage"):
        response_cost("gpt-realtime-2.1", bad, PRICES)


def test_a_dated_snapshot_takes_its_family_price_and_an_unknown_model_is_refused() -> None:
    report = {"input_tokens": 1_000_000, "input_token_details": {"text_tokens": 1_000_000}}
    assert response_cost("gpt-realtime-2.1-2026-08-28", report, PRICES) == 4_000_000
    with pytest.raises(UnpricedModel, match="MODEL_PRICES"):
        response_cost("gpt-realtime-9", report, PRICES)


def test_transcription_by_tokens_is_billed_at_the_transcription_models_rates() -> None:
    report = {
        "type": "tokens",
        "input_tokens": 1_000_000,
        "output_tokens": 1_000_000,
        "total_tokens": 2_000_000,
        "input_token_details": {"text_tokens": 0, "audio_tokens": 1_000_000},
    }
    assert transcription_cost("gpt-4o-mini-transcribe", report, PRICES) == 3_000_000 + 5_000_000
    assert transcription_cost("gpt-4o-transcribe", report, PRICES) == 6_000_000 + 10_000_000


def test_transcription_by_duration_is_billed_per_minute_rounded_up() -> None:
    assert transcription_cost("whisper-1", {"type": "duration", "seconds": 60}, PRICES) == 6000
    assert transcription_cost("whisper-1", {"type": "duration", "seconds": 0.1}, PRICES) == 10
    assert transcription_cost("whisper-1", {"type": "duration", "seconds": 0.0001}, PRICES) == 1
    with pytest.raises(ValueError, match="seconds"):
        transcription_cost("whisper-1", {"type": "duration", "seconds": -1}, PRICES)
    with pytest.raises(UnpricedModel, match="text output"):
        transcription_cost("whisper-1", {"type": "tokens", "output_tokens": 5}, PRICES)
