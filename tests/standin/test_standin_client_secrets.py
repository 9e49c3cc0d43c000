"""POST /v1/realtime/client_secrets behaves like OpenAI's GA endpoint."""

from __future__ import annotations

import time
from typing import Any

import pytest
from openai.types.realtime import ClientSecretCreateResponse

from tests.standin.realtime_client import API_KEY, RunningStandin, running_standin

URL = "/v1/realtime/client_secrets"


async def _post(
    standin: RunningStandin, body: Any, *, key: str | None = API_KEY, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    all_headers = {"Authorization": f"Bearer {key}"} if key else {}
    all_headers.update(headers or {})
    async with standin.http.post(f"{standin.base_url}{URL}", json=body, headers=all_headers) as response:
        return response.status, await response.json()


def _is_openai_error(body: dict[str, Any]) -> bool:
    return set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}


async def test_a_valid_request_returns_an_ek_and_the_effective_session() -> None:
    async with running_standin() as standin:
        before = time.time()
        status, body = await _post(
            standin,
            {
                "expires_after": {"anchor": "created_at", "seconds": 120},
                "session": {
                    "type": "realtime",
                    "model": "gpt-realtime",
                    "instructions": "Be brief.",
                    "audio": {"output": {"voice": "marin"}},
                },
            },
        )
        assert status == 200
        ClientSecretCreateResponse.model_validate(body)
        assert body["value"].startswith("ek_")
        assert before + 119 <= body["expires_at"] <= time.time() + 121
        session = body["session"]
        assert session["object"] == "realtime.session"
        assert session["id"].startswith("sess_")
        assert session["instructions"] == "Be brief."
        assert session["audio"]["output"]["voice"] == "marin"
        assert session["audio"]["input"]["turn_detection"]["type"] == "server_vad"
        assert (await standin.state())["client_secrets_issued"] == 1


async def test_an_empty_body_gets_the_default_ttl_of_600_seconds() -> None:
    async with running_standin() as standin:
        status, body = await _post(standin, {})
        assert status == 200
        assert abs(body["expires_at"] - (time.time() + 600)) < 5


@pytest.mark.parametrize(
    ("key", "message_part"),
    [
        (None, "didn't provide an API key"),
        ("sk-wrong", "Incorrect API key"),
        ("ek_forged", "Incorrect API key"),
    ],
)
async def test_without_the_api_key_it_answers_401_with_an_openai_error(
    key: str | None, message_part: str
) -> None:
    async with running_standin() as standin:
        status, body = await _post(standin, {}, key=key)
        assert status == 401
        assert _is_openai_error(body)
        assert message_part in body["error"]["message"]


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"expires_after": {"seconds": 5}}, "expires_after.seconds", "invalid_value"),
        ({"expires_after": {"seconds": 7201}}, "expires_after.seconds", "invalid_value"),
        ({"expires_after": {"anchor": "now"}}, "expires_after.anchor", "invalid_value"),
        ({"session": {"model": "gpt-realtime"}}, "session.type", "missing_required_parameter"),
        ({"session": {"type": "realtime", "bogus": 1}}, "session.bogus", "unknown_parameter"),
        (
            {
                "session": {
                    "type": "realtime",
                    "audio": {"input": {"turn_detection": {"type": "server_vad", "x": 1}}},
                }
            },
            "session.audio.input.turn_detection.x",
            "unknown_parameter",
        ),
        (
            {"session": {"type": "realtime", "audio": {"output": {"voice": "nova"}}}},
            "session.audio.output.voice",
            "invalid_value",
        ),
        (
            {"session": {"type": "realtime", "audio": {"output": {"speed": 3.0}}}},
            "session.audio.output.speed",
            "invalid_value",
        ),
        (
            {"session": {"type": "realtime", "audio": {"output": {"speed": "fast"}}}},
            "session.audio.output.speed",
            "invalid_type",
        ),
        (
            {"session": {"type": "realtime", "max_output_tokens": 0}},
            "session.max_output_tokens",
            "invalid_value",
        ),
        (
            {"session": {"type": "realtime", "max_output_tokens": 5000}},
            "session.max_output_tokens",
            "invalid_value",
        ),
        (
            {"session": {"type": "realtime", "output_modalities": ["text", "audio"]}},
            "session.output_modalities",
            "invalid_value",
        ),
        ({"session": {"type": "realtime", "model": "gpt-4-nope"}}, "session.model", "invalid_value"),
        (
            {"session": {"type": "realtime", "audio": {"output": {"voice": {"id": "voice_x"}}}}},
            "session.audio.output.voice",
            "invalid_value",
        ),
        ({"session": {"type": "realtime"}, "extra": True}, "extra", "unknown_parameter"),
    ],
)
async def test_a_wrong_shape_is_a_400_naming_the_field(body: dict[str, Any], param: str, code: str) -> None:
    async with running_standin() as standin:
        status, answer = await _post(standin, body)
        assert status == 400
        assert _is_openai_error(answer)
        assert answer["error"]["type"] == "invalid_request_error"
        assert (answer["error"]["param"], answer["error"]["code"]) == (param, code)
        assert answer["error"]["message"]


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"session": {"type": "realtime", "voice": "alloy"}}, {}),
        ({"session": {"type": "realtime", "modalities": ["audio", "text"]}}, {}),
        ({"model": "gpt-realtime", "voice": "verse"}, {}),
        ({"session": {"type": "realtime"}}, {"OpenAI-Beta": "realtime=v1"}),
    ],
)
async def test_beta_shaped_requests_are_refused(body: dict[str, Any], headers: dict[str, str]) -> None:
    async with running_standin() as standin:
        status, answer = await _post(standin, body, headers=headers)
        assert status == 400
        assert answer["error"]["code"] == "beta_api_shape_disabled"
