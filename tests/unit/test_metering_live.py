"""GPT-Live's prices and cost arithmetic (metering/prices.py, metering/live_cost.py), and the init
check that refuses an unpriced live or backend model by its variable's name."""

from __future__ import annotations

import pytest

from tests.conftest import REQUIRED_ENV
from vend.metering.live_cost import backend_cost, voice_total_cost
from vend.metering.prices import BUILT_IN, ModelPrice, UnpricedModel, price_table
from vend.providers import _check_relay_configuration
from vend.settings import Settings, SettingsError, load_settings

PRICES = price_table()


def test_the_live_price_table_is_the_published_one() -> None:
    assert BUILT_IN["gpt-live-1.1"] == ModelPrice(active_per_minute=50_000, paused_per_minute=20_000)
    assert BUILT_IN["gpt-live-1"] == ModelPrice(active_per_minute=50_000)  # standby price unpublished
    assert BUILT_IN["gpt-6-luna"] == ModelPrice(
        text_input=100_000, text_cached_input=10_000, text_cache_write=125_000, text_output=500_000
    )
    assert BUILT_IN["gpt-6-sol"] == ModelPrice(
        text_input=2_000_000, text_cached_input=200_000, text_cache_write=2_500_000, text_output=10_000_000
    )


def test_ninety_active_seconds_cost_what_openai_says() -> None:
    # "a 90-second active session costs $0.075" (the voice latency and cost guide)
    assert (
        voice_total_cost("gpt-live-1.1", {"seconds": 90.0, "active_seconds": 90, "paused_seconds": 0}, PRICES)
        == 75_000
    )


def test_standby_seconds_cost_the_standby_rate_on_gpt_live_1_1_and_the_active_rate_on_gpt_live_1() -> None:
    usage = {"seconds": 600.0, "active_seconds": 240, "paused_seconds": 360}
    assert voice_total_cost("gpt-live-1.1", usage, PRICES) == 200_000 + 120_000  # 4 min x $0.05 + 6 x $0.02
    assert voice_total_cost("gpt-live-1", usage, PRICES) == 500_000  # 10 min x $0.05: never under
    assert (
        voice_total_cost("gpt-live-1", usage, price_table('{"gpt-live-1": {"paused_per_minute": 0.02}}'))
        == 320_000
    )


def test_a_usage_without_the_breakdown_is_all_active_and_rounds_up() -> None:
    assert voice_total_cost("gpt-live-1.1", {"seconds": 15.0}, PRICES) == 12_500  # the create's 15 s
    assert voice_total_cost("gpt-live-1.1", {"seconds": 1.0}, PRICES) == 834  # 833.33… rounded up
    assert voice_total_cost("gpt-live-1.1", {"seconds": 0.0}, PRICES) == 0


def test_a_breakdown_short_of_the_total_counts_the_rest_active() -> None:
    assert (
        voice_total_cost("gpt-live-1.1", {"seconds": 60.0, "active_seconds": 30, "paused_seconds": 0}, PRICES)
        == 50_000
    )


@pytest.mark.parametrize(
    "usage",
    [
        {"seconds": -1.0},
        {"seconds": "60"},
        {"seconds": True},
        {"seconds": 60.0, "active_seconds": -1, "paused_seconds": 0},
    ],
)
def test_a_malformed_voice_usage_is_refused(usage: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="usage field"):
        voice_total_cost("gpt-live-1.1", usage, PRICES)


def test_a_voice_model_without_an_active_price_is_refused() -> None:
    with pytest.raises(UnpricedModel):
        voice_total_cost("gpt-6-luna", {"seconds": 60.0}, PRICES)


def test_backend_tokens_price_cached_and_cache_written_input_apart() -> None:
    usage = {
        "input_tokens": 10_000,
        "input_tokens_details": {"cached_tokens": 6_000, "cache_write_tokens": 1_000},
        "output_tokens": 2_000,
        "output_tokens_details": {"reasoning_tokens": 500},
        "total_tokens": 12_000,
    }
    # 3,000 x $0.10 + 6,000 x $0.01 + 1,000 x $0.125 + 2,000 x $0.50, per 1M tokens
    assert backend_cost("gpt-6-luna", usage, PRICES) == 300 + 60 + 125 + 1_000
    assert backend_cost("gpt-6-sol", usage, PRICES) == 6_000 + 1_200 + 2_500 + 20_000
    assert backend_cost("gpt-6-luna", {"input_tokens": 1, "output_tokens": 0}, PRICES) == 1  # rounded up


def test_a_backend_usage_with_more_cached_than_input_tokens_is_refused() -> None:
    with pytest.raises(ValueError, match="more cached"):
        backend_cost(
            "gpt-6-luna", {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 11}}, PRICES
        )


def test_an_unpriced_backend_is_refused_until_model_prices_adds_it() -> None:
    with pytest.raises(UnpricedModel):
        backend_cost("gpt-6-astra", {"input_tokens": 10}, PRICES)
    priced = price_table('{"gpt-6-astra": {"text_input": 10, "text_cached_input": 1, "text_output": 50}}')
    assert backend_cost("gpt-6-astra", {"input_tokens": 100_000, "output_tokens": 0}, priced) == 1_000_000


def live_settings(**extra: str) -> Settings:
    return load_settings(
        {
            **REQUIRED_ENV,
            "OPENAI_API_KEY_SECRET_ARN": "realtime-vend/openai-api-key",
            "CALL_MODE": "relay",
            "VOICE_API": "live",
            "COMPANION_FUNCTION_NAME": "realtime-vend-CompanionFunction",
            **extra,
        }
    )


def test_init_accepts_the_live_defaults() -> None:
    _check_relay_configuration(live_settings())


def test_init_refuses_an_unpriced_backend_model_by_its_variable() -> None:
    with pytest.raises(SettingsError) as raised:
        _check_relay_configuration(live_settings(LIVE_BACKEND_MODEL="gpt-6-astra"))
    assert raised.value.variable == "LIVE_BACKEND_MODEL"

    _check_relay_configuration(
        live_settings(
            LIVE_BACKEND_MODEL="gpt-6-astra",
            MODEL_PRICES='{"gpt-6-astra": {"text_input": 10, "text_output": 50}}',
        )
    )
