"""`scripts/local --voice-api live` and its flags reach the function's environment under the template's
names, as settings reads them; the stand-in's GPT-Live options are passed on by their field names."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from local.function_env import function_environment
from local.stack import _options, _parse_args, _standin_live
from local.stack_options import ORIGIN_VERIFY_SECRET_NAME, SECRET_NAME, VISITOR_KEY_SECRET_NAME, StackOptions
from template_contract.reader import load_template
from vend.settings import DEFAULT_LIVE_BACKEND_MODEL, load_settings

MOTO = "http://127.0.0.1:5999"


def _environment(options: StackOptions) -> dict[str, str]:
    """What the stack would hand the handler, without starting anything."""
    moto = SimpleNamespace(
        endpoint=MOTO,
        arns={
            SECRET_NAME: "arn:aws:secretsmanager:us-east-1:123456789012:secret:key",
            ORIGIN_VERIFY_SECRET_NAME: "arn:origin",
            VISITOR_KEY_SECRET_NAME: "arn:visitor",
        },
    )
    template = load_template(options.template)
    return function_environment(options, template, moto, "http://127.0.0.1:5997")  # type: ignore[arg-type]


def _env_for(*argv: str) -> dict[str, str]:
    return _environment(_options(_parse_args(list(argv))))


def test_voice_api_live_relays_with_the_templates_live_defaults() -> None:
    env = _env_for("--voice-api", "live")
    settings = load_settings(env)

    assert (env["VOICE_API"], env["CALL_MODE"]) == ("live", "relay")
    assert (settings.voice_api, settings.call_mode) == ("live", "relay")
    assert (settings.live.model, settings.live.voice) == ("gpt-live-1.1", "marin")
    assert (settings.live.idle_timeout_seconds, settings.live.typed_text) == (0, True)
    assert (settings.live.backend_model, settings.live.hosted_tools) == (DEFAULT_LIVE_BACKEND_MODEL, ())


def test_the_live_flags_reach_the_settings() -> None:
    env = _env_for(
        "--voice-api",
        "live",
        "--live-model",
        "gpt-live-1",
        "--live-voice",
        "cedar",
        "--live-idle-timeout-seconds",
        "30",
        "--live-typed-text",
        "off",
        "--live-hosted-tools",
        "web_search",
    )
    live = load_settings(env).live

    assert (live.model, live.voice, live.idle_timeout_seconds) == ("gpt-live-1", "cedar", 30)
    assert (live.typed_text, live.hosted_tools) == (False, ("web_search",))


def test_without_voice_api_the_stack_is_realtime_as_before() -> None:
    env = _env_for()

    assert (env["VOICE_API"], env["CALL_MODE"]) == ("realtime", "client_secret")
    assert load_settings(env).voice_api == "realtime"


def test_voice_api_live_accepts_mode_relay_and_refuses_the_modes_it_cannot_serve(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _env_for("--voice-api", "live", "--mode", "relay")["CALL_MODE"] == "relay"
    for mode in ("client_secret", "both"):
        with pytest.raises(SystemExit):
            _parse_args(["--voice-api", "live", "--mode", mode])
        assert "--voice-api live serves relayed calls only" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--voice-api", "websocket"], "invalid choice"),
        (["--live-model", "gpt-realtime-2.1"], "invalid choice"),
        (["--live-voice", "nova"], "invalid choice"),
        (["--live-typed-text", "yes"], "invalid choice"),
        (["--live-webrtc-hangup", "sometimes"], "invalid choice"),
        (["--live-reflect-audio", "true"], "invalid choice"),
    ],
)
def test_a_live_value_outside_the_templates_is_refused_at_once(
    argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        _parse_args(argv)
    assert problem in capsys.readouterr().err


def test_the_standins_live_options_go_by_their_field_names_and_only_when_given() -> None:
    given = _parse_args(
        [
            "--live-usage-interval-seconds",
            "2",
            "--live-max-session-seconds",
            "30",
            "--live-webrtc-hangup",
            "honoured",
            "--live-reflect-audio",
            "off",
        ]
    )

    assert _standin_live(given) == {
        "live_usage_interval_seconds": 2.0,
        "live_max_session_seconds": 30.0,
        "live_webrtc_hangup": "honoured",
        "live_reflect_audio": False,
    }
    assert _options(given).standin_live == _standin_live(given)
    assert _standin_live(_parse_args([])) == {}  # the stand-in's own defaults
