"""Every session the settings can describe is a body OpenAI's SDK type accepts, with no unknown key."""

from __future__ import annotations

import itertools

import pytest
from openai.types.realtime import ClientSecretCreateParams
from pydantic import TypeAdapter

from tests.conftest import REQUIRED_ENV
from tests.fakes.openai_upstream import unknown_keys
from vend.logic.session_config import client_secret_request
from vend.settings import load_settings

PARAMS = TypeAdapter(ClientSecretCreateParams)


@pytest.mark.parametrize(
    ("turn_detection", "transcription", "modality", "max_tokens"),
    list(
        itertools.product(
            ["server_vad", "semantic_vad", "none"],
            ["gpt-4o-mini-transcribe", "none"],
            ["audio", "text"],
            ["inf", "1", "4096"],
        )
    ),
)
def test_every_configuration_is_a_valid_request(
    turn_detection: str, transcription: str, modality: str, max_tokens: str
) -> None:
    settings = load_settings(
        {
            **REQUIRED_ENV,
            "OPENAI_API_KEY_SECRET_ARN": "arn",
            "REALTIME_TURN_DETECTION": turn_detection,
            "REALTIME_TRANSCRIPTION_MODEL": transcription,
            "REALTIME_OUTPUT_MODALITY": modality,
            "REALTIME_MAX_OUTPUT_TOKENS": max_tokens,
        }
    )

    body = client_secret_request(settings, "cedar")

    assert unknown_keys(PARAMS.validate_python(body), body) == []
    assert body["session"]["type"] == "realtime"
    assert body["session"]["audio"]["output"]["voice"] == "cedar"


def test_default_voice_is_the_first_allowed() -> None:
    settings = load_settings(
        {**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": "arn", "REALTIME_VOICES": "sage,marin"}
    )

    assert client_secret_request(settings)["session"]["audio"]["output"]["voice"] == "sage"


def test_a_voice_outside_the_allow_list_is_never_sent() -> None:
    settings = load_settings({**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": "arn"})

    with pytest.raises(ValueError, match="allow-list"):
        client_secret_request(settings, "alloy")
