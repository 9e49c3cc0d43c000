"""The enabled tools' definitions go into a relayed call's session, where a companion answers them, and
never into a client secret's session, whose calls the server cannot see."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.realtime import RealtimeSessionCreateRequestParam
from pydantic import TypeAdapter

from local.openai_standin.session_config import (
    apply_session_request,
    default_session,
    validate_session_request,
)
from tests.conftest import REQUIRED_ENV
from tests.fakes.openai_upstream import unknown_keys
from vend.logic.session_config import client_secret_request, relay_session
from vend.settings import Settings, SettingsError, load_settings
from vend.tools import KNOWN

COMPANION = "realtime-vend-CompanionFunction"


def settings(**env: str) -> Settings:
    return load_settings({**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": "arn", **env})


def test_a_relayed_session_carries_the_enabled_tools() -> None:
    session = relay_session(settings(COMPANION_FUNCTION_NAME=COMPANION))

    assert session["tools"] == [KNOWN["get_current_time"].definition(), KNOWN["end_call"].definition()]


def test_the_tools_setting_chooses_which() -> None:
    session = relay_session(settings(COMPANION_FUNCTION_NAME=COMPANION, TOOLS="end_call"))

    assert [tool["name"] for tool in session["tools"]] == ["end_call"]


def test_a_client_secret_session_has_no_tools_even_beside_a_companion() -> None:
    body = client_secret_request(settings(COMPANION_FUNCTION_NAME=COMPANION, CALL_MODE="both"), "marin")

    assert "tools" not in body["session"]


@pytest.mark.parametrize(
    "env",
    [
        {},  # no companion: nobody would answer a function call
        {"COMPANION_FUNCTION_NAME": COMPANION, "TOOLS": "none"},
    ],
)
def test_no_tools_without_a_companion_or_with_none_enabled(env: dict[str, str]) -> None:
    assert "tools" not in relay_session(settings(**env))


def test_the_rest_of_a_relayed_session_is_the_client_secret_s() -> None:
    chosen = settings(COMPANION_FUNCTION_NAME=COMPANION)
    session = relay_session(chosen)
    del session["tools"]

    assert session == client_secret_request(chosen)["session"]


def test_an_unknown_tool_is_refused_by_name() -> None:
    with pytest.raises(SettingsError) as raised:
        relay_session(settings(COMPANION_FUNCTION_NAME=COMPANION, TOOLS="get_current_time,get_weather"))

    assert raised.value.variable == "TOOLS"


def test_the_relayed_session_with_tools_is_one_openai_accepts() -> None:
    session: dict[str, Any] = relay_session(settings(COMPANION_FUNCTION_NAME=COMPANION))

    validated = TypeAdapter(RealtimeSessionCreateRequestParam).validate_python(session)
    assert unknown_keys(validated, session) == []
    # the stand-in's strict check (unknown keys, bounds) and its effective session (the response type)
    effective = apply_session_request(default_session(), validate_session_request(session))
    assert effective["tools"] == session["tools"]
