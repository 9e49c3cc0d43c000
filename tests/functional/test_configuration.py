"""Configuration from the template's environment: a bad value is named in the log and every request
gets 500 server_misconfigured; a good change reaches OpenAI without a code change."""

from __future__ import annotations

import socket
from types import ModuleType

import pytest
from openai.types.realtime import ClientSecretCreateParams
from pydantic import TypeAdapter

from tests.fakes.openai_upstream import BASE_URL, FakeClientSecrets, unknown_keys
from tests.functional.conftest import invoke, post_session


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CLIENT_SECRET_TTL_SECONDS", "5"),
        ("CLIENT_SECRET_TTL_SECONDS", "two minutes"),
        ("REALTIME_VOICES", "marin,nova"),
        ("OPENAI_BASE_URL", "http://api.openai.com"),
        ("OPENAI_BASE_URL", "https://evil.example/v1"),
        ("REALTIME_OUTPUT_MODALITY", "audio,text"),
        ("REALTIME_MAX_OUTPUT_TOKENS", "5000"),
        ("TRACING_ENABLED", "maybe"),
    ],
)
def test_bad_setting_is_named_in_log_and_every_request_gets_500(
    cold_start,
    secret_arn: str,
    upstream: FakeClientSecrets,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
    variable: str,
    value: str,
) -> None:
    module = cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, **{variable: value})

    [logged] = [r for r in caplog.records if r.getMessage() == "invalid configuration"]
    assert logged.variable == variable  # type: ignore[attr-defined]
    for event in ("mint", "invalid-json", "wrong-method", "unknown-path"):
        reply = invoke(module, event)
        assert (reply.status, reply.error_code) == (500, "server_misconfigured"), event
        assert variable not in reply.raw["body"]
    assert upstream.requests == []


def test_missing_secret_arn_is_reported_by_name(cold_start, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    module = cold_start()

    assert [r.variable for r in caplog.records if r.getMessage() == "invalid configuration"] == [  # type: ignore[attr-defined]
        "OPENAI_API_KEY_SECRET_ARN"
    ]
    assert invoke(module, "mint").status == 500


def test_importing_the_handler_survives_a_network_that_refuses_everything(
    cold_start,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    # Init reads the key and opens the connection to OpenAI early (providers.py), best effort: with no
    # network at all, importing must still succeed and leave the work to the first request.
    attempts: list[object] = []

    def no_network(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)

    module = cold_start(OPENAI_API_KEY_SECRET_ARN="arn:aws:secretsmanager:us-east-1:123456789012:secret:x")

    assert callable(module.lambda_handler)
    assert attempts, "init did not try to prefetch"
    [prefetch] = [r for r in caplog.records if r.getMessage() == "init prefetch"]
    assert prefetch.connection == "failed"  # type: ignore[attr-defined]
    assert prefetch.key not in {"ready", "pending"}  # type: ignore[attr-defined]


def test_upstream_body_is_the_servers_session_and_valid_for_the_sdk(
    handler: ModuleType, upstream: FakeClientSecrets
) -> None:
    assert post_session(handler, '{"voice": "cedar"}').status == 200

    [body] = upstream.requests
    validated = TypeAdapter(ClientSecretCreateParams).validate_python(body)
    assert unknown_keys(validated, body) == []
    assert body == {
        "expires_after": {"anchor": "created_at", "seconds": 60},
        "session": {
            "type": "realtime",
            "model": "gpt-realtime-2.1",
            "instructions": body["session"]["instructions"],
            "output_modalities": ["audio"],
            "max_output_tokens": 4096,
            "audio": {
                "input": {
                    "turn_detection": {"type": "server_vad"},
                    "transcription": {"model": "gpt-4o-mini-transcribe"},
                },
                "output": {"voice": "cedar"},
            },
        },
    }
    assert body["session"]["instructions"]


def test_parameter_change_reaches_openai_without_code_change(
    cold_start,
    secret_arn: str,
    upstream: FakeClientSecrets,  # type: ignore[no-untyped-def]
) -> None:
    module = cold_start(
        OPENAI_API_KEY_SECRET_ARN=secret_arn,
        OPENAI_BASE_URL=BASE_URL,
        REALTIME_MODEL="gpt-realtime-2.1-mini",
        REALTIME_VOICES="sage,verse",
        REALTIME_INSTRUCTIONS="Speak like a ship's captain.",
        CLIENT_SECRET_TTL_SECONDS="120",
        REALTIME_TURN_DETECTION="semantic_vad",
        REALTIME_TRANSCRIPTION_MODEL="none",
        REALTIME_OUTPUT_MODALITY="text",
        REALTIME_MAX_OUTPUT_TOKENS="inf",
    )

    reply = post_session(module)

    [body] = upstream.requests
    session = body["session"]
    assert reply.status == 200
    assert body["expires_after"]["seconds"] == 120
    assert session["model"] == "gpt-realtime-2.1-mini"
    assert session["instructions"] == "Speak like a ship's captain."
    assert session["audio"]["output"]["voice"] == "sage"
    assert session["audio"]["input"] == {"turn_detection": {"type": "semantic_vad"}}
    assert session["output_modalities"] == ["text"]
    assert session["max_output_tokens"] == "inf"
    assert unknown_keys(TypeAdapter(ClientSecretCreateParams).validate_python(body), body) == []
    assert post_session(module, '{"voice": "marin"}').error_code == "voice_not_allowed"


def test_response_is_what_openai_returned(handler: ModuleType, upstream: FakeClientSecrets) -> None:
    reply = post_session(handler)

    assert set(reply.body) == {"value", "expires_at", "session"}
    assert reply.body["value"] == upstream.minted[-1]
    assert reply.body["session"]["object"] == "realtime.session"
    assert reply.headers["cache-control"] == "no-store"


def test_deprecated_model_is_warned_about_at_cold_start(
    cold_start,
    secret_arn: str,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, REALTIME_MODEL="gpt-realtime")

    assert any("2027-01-20" in r.getMessage() for r in caplog.records)


def test_one_structured_log_line_per_request(
    handler: ModuleType, upstream: FakeClientSecrets, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    post_session(handler)
    post_session(handler, '{"voice": "nova"}')

    lines = [r for r in caplog.records if r.getMessage() == "request"]
    assert len(lines) == 2
    minted, refused = lines
    assert (minted.outcome, minted.status, minted.upstream_status) == ("minted", 200, 200)  # type: ignore[attr-defined]
    assert minted.api_request_id == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"  # type: ignore[attr-defined]
    assert minted.upstream_latency_ms >= 0  # type: ignore[attr-defined]
    assert len(minted.client_secret_fp) == 12  # type: ignore[attr-defined]
    assert (refused.outcome, refused.status) == ("voice_not_allowed", 400)  # type: ignore[attr-defined]
