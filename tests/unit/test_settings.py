from __future__ import annotations

import pytest

from tests.conftest import REQUIRED_ENV
from vend.settings import SettingsError, load_settings

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:realtime-vend-abc"


def test_defaults_are_safe_and_current() -> None:
    settings = load_settings({**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": ARN})

    assert settings.openai_base_url == "https://api.openai.com"
    assert settings.model == "gpt-realtime-2.1"
    assert settings.client_secret_ttl_seconds == 60
    assert settings.voices == ("marin", "cedar")
    assert settings.default_voice == "marin"
    assert settings.secret_max_age_seconds == 300
    assert settings.tracing_enabled is False
    # worst case with one retry stays well inside the template's 10 s function timeout
    assert 2 * (settings.upstream_connect_timeout_seconds + settings.upstream_read_timeout_seconds) < 15


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("OPENAI_API_KEY_SECRET_ARN", "", "is required"),
        ("CLIENT_SECRET_TTL_SECONDS", "9", "from 10 to 7200"),
        ("CLIENT_SECRET_TTL_SECONDS", "7201", "from 10 to 7200"),
        ("REALTIME_VOICES", ",,", "built-in voices"),
        ("REALTIME_VOICES", "alloy,Nova", "built-in voices"),
        ("REALTIME_MODEL", "gpt realtime", "model id"),
        ("OPENAI_BASE_URL", "ftp://api.openai.com", "https://"),
        ("OPENAI_BASE_URL", "http://10.0.0.5:8080", "loopback only"),
        ("OPENAI_BASE_URL", "https://api.openai.com/v1", "without a path"),
        ("OPENAI_BASE_URL", "https://user@api.openai.com", "without a path"),
        ("REALTIME_TURN_DETECTION", "client_vad", "server_vad"),
        ("REALTIME_MAX_OUTPUT_TOKENS", "0", "from 1 to 4096"),
        ("SECRET_MAX_AGE_SECONDS", "-1", "from 0 to 3600"),
        ("UPSTREAM_READ_TIMEOUT_SECONDS", "60", "seconds from"),
        ("REALTIME_INSTRUCTIONS", "x" * 4001, "4000"),  # the template's MaxLength
    ],
)
def test_bad_values_are_reported_by_variable(variable: str, value: str, problem: str) -> None:
    env = {**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": ARN, variable: value}

    with pytest.raises(SettingsError) as caught:
        load_settings(env)

    assert caught.value.variable == variable
    assert problem in caught.value.problem


def test_blank_optional_value_means_default() -> None:
    assert (
        load_settings({**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": ARN, "REALTIME_MODEL": "  "}).model
        == "gpt-realtime-2.1"
    )


def test_loopback_http_is_allowed_for_the_local_stand_in() -> None:
    settings = load_settings(
        {**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": ARN, "OPENAI_BASE_URL": "http://127.0.0.1:8765/"}
    )

    assert settings.openai_base_url == "http://127.0.0.1:8765"


def test_voices_are_deduplicated_in_order() -> None:
    settings = load_settings(
        {**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": ARN, "REALTIME_VOICES": "cedar, marin,cedar"}
    )

    assert settings.voices == ("cedar", "marin")


def test_deprecated_model_is_flagged() -> None:
    assert load_settings(
        {**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": ARN, "REALTIME_MODEL": "gpt-realtime"}
    ).model_is_deprecated


def test_spend_budgets_are_integer_micro_dollars() -> None:
    settings = load_settings(
        {
            **REQUIRED_ENV,
            "OPENAI_API_KEY_SECRET_ARN": ARN,
            "CALL_DOLLARS_PER_VISITOR_PER_DAY": "0.5",
            "CALL_DOLLARS_PER_DAY": "20.000001",
        }
    )

    assert settings.spend.visitor_micro_usd_per_day == 500_000
    assert settings.spend.stack_micro_usd_per_day == 20_000_001


@pytest.mark.parametrize("value", ["0", "0.001", "1e3", "-2", "2.0000001", "two", "1000000.01"])
def test_a_budget_that_is_not_dollars_is_refused_by_name(value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": ARN, "CALL_DOLLARS_PER_DAY": value})

    assert raised.value.variable == "CALL_DOLLARS_PER_DAY"


def test_companion_and_tools_defaults() -> None:
    settings = load_settings({**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": ARN})

    assert settings.companions.function_name is None
    assert settings.companions.tools == ("get_current_time", "end_call")
    assert settings.companions.tool_timeout_seconds == 5
    assert settings.spend.model_prices_json == ""


def test_tools_none_turns_every_tool_off_and_bad_names_are_refused() -> None:
    assert (
        load_settings({**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": ARN, "TOOLS": "none"}).companions.tools
        == ()
    )
    with pytest.raises(SettingsError) as raised:
        load_settings(
            {**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": ARN, "TOOLS": "get_current_time,Drop Table"}
        )
    assert raised.value.variable == "TOOLS"


def test_model_prices_must_be_a_json_object() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": ARN, "MODEL_PRICES": "[1, 2]"})
    assert raised.value.variable == "MODEL_PRICES"
