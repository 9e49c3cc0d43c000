"""GPT-Live's settings: what an operator can choose, and what the template cannot let through."""

from __future__ import annotations

import typing

import pytest
from openai.types.live.built_in_voice import BuiltInVoice

from tests.conftest import REQUIRED_ENV
from vend.settings import LIVE_BUILT_IN_VOICES, SettingsError, load_settings

BASE = {**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": "realtime-vend/openai"}
LIVE = {**BASE, "VOICE_API": "live", "CALL_MODE": "relay"}


def test_realtime_stays_the_default() -> None:
    assert load_settings(BASE).voice_api == "realtime"


def test_live_defaults() -> None:
    live = load_settings(LIVE).live

    assert live.model == "gpt-live-1.1"
    assert live.voice == "marin"
    assert live.idle_timeout_seconds == 0
    assert live.delegation == "responses"
    assert live.hosted_tools == ()
    assert live.typed_text is True
    assert live.instructions and live.backend_instructions and live.backend_model


def test_voices_are_the_sdks_built_in_list() -> None:
    assert frozenset(typing.get_args(BuiltInVoice)) == LIVE_BUILT_IN_VOICES


@pytest.mark.parametrize("call_mode", ["client_secret", "both"])
def test_live_serves_relay_only(call_mode: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({**LIVE, "CALL_MODE": call_mode})
    assert raised.value.variable == "CALL_MODE"


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("VOICE_API", "sip", "'realtime' or 'live'"),
        ("LIVE_MODEL", "gpt-realtime-2.1", "gpt-live-1"),
        ("LIVE_VOICE", "nova", "built-in voice"),
        ("LIVE_IDLE_TIMEOUT_SECONDS", "-1", "from 0 to 3600"),
        ("LIVE_DELEGATION", "none", "'responses'"),
        ("LIVE_DELEGATION", "client", "'responses'"),
        ("LIVE_HOSTED_TOOLS", "web_search,code_interpreter", "web_search"),
        ("LIVE_TYPED_TEXT", "maybe", "true or false"),
        ("LIVE_INSTRUCTIONS", "x" * 4001, "4000 characters"),
    ],
)
def test_bad_live_values_name_their_variable(variable: str, value: str, problem: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({**LIVE, variable: value})
    assert raised.value.variable == variable
    assert problem in raised.value.problem


def test_hosted_tools_and_standby_parse() -> None:
    live = load_settings({**LIVE, "LIVE_HOSTED_TOOLS": "web_search", "LIVE_IDLE_TIMEOUT_SECONDS": "30"}).live
    assert live.hosted_tools == ("web_search",)
    assert live.idle_timeout_seconds == 30
