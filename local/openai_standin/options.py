"""The stand-in's knobs: set at start, changeable at run time through the control API."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, cast


@dataclass
class StandinOptions:
    api_key: str
    # OpenAI caps a session at 60 minutes; tests scale this down.
    session_max_seconds: float = 3600.0
    # Refuse POST /v1/realtime/calls with this status (None: accept).
    calls_status: int | None = None
    # Latency injection for benchmarks, applied before the HTTP answer.
    calls_delay_ms: int = 0
    client_secrets_delay_ms: int = 0
    # Before a sideband's WebSocket upgrade is answered: what a new connection's TCP, TLS and HTTP
    # upgrade round trips cost its opener (the bench gives 3 x the function↔OpenAI RTT).
    sideband_delay_ms: int = 0
    # One-way delay for every media/ICE UDP packet, each direction.
    media_delay_ms: int = 0
    # Let sound on the microphone start turns (server VAD). Browser tests that drive the
    # conversation with typed events can switch it off: Chromium's fake microphone beeps.
    mic_turns: bool = True
    # The transcript of the next spoken turn (then back to the canned ones), so that a spoken
    # turn can ask for a tool: {"mic_transcript": "What time is it?"}.
    mic_transcript: str | None = None
    # GPT-Live (local/openai_standin/live). `session.usage.updated` cadence: OpenAI says about once
    # a minute; tests scale it down.
    live_usage_interval_seconds: float = 60.0
    # A Live session's duration limit (`expires_at`): OpenAI documents no number for WebRTC.
    live_max_session_seconds: float = 3600.0
    # Reflect the microphone and the voice to sidebands as OpenAI does (session.input_audio.append,
    # session.output_audio.delta), in 100 ms chunks.
    live_reflect_audio: bool = True
    # POST /v1/live/sessions/{id}/hangup on a WebRTC session, documented for SIP only: "ignored"
    # (200, nothing happens) or "honoured" (the session closes with `close_requested`).
    live_webrtc_hangup: str = "ignored"

    def as_public_dict(self) -> dict[str, Any]:
        """The options as JSON, with the API key reduced to a fingerprint."""
        from .ids import fingerprint  # noqa: PLC0415 - keeps this module import-light

        data = dataclasses.asdict(self)
        data["api_key"] = {"sha256": fingerprint(self.api_key)}
        return data


WEBRTC_HANGUP_CHOICES = ("ignored", "honoured")
_SECONDS_OPTIONS = frozenset(
    {"session_max_seconds", "live_usage_interval_seconds", "live_max_session_seconds"}
)


class OptionsError(ValueError):
    """A control-API patch names an unknown option or gives a value of the wrong kind."""


def _check_number(name: str, value: object, *, integral: bool, minimum: float) -> None:
    kinds: tuple[type, ...] = (int,) if integral else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "an integer" if integral else "a number"
        raise OptionsError(f"{name} must be {kind}")
    if cast(float, value) < minimum:
        raise OptionsError(f"{name} must be >= {minimum:g}")


def _check_flag(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise OptionsError(f"{name} must be true or false")


def _check_live_webrtc_hangup(name: str, value: object) -> None:
    if value not in WEBRTC_HANGUP_CHOICES:
        raise OptionsError(f"{name} must be one of {', '.join(WEBRTC_HANGUP_CHOICES)}")


def _check_named(name: str, value: object) -> bool:
    """The options with their own rule; False for the plain numbers."""
    checks = {
        "mic_turns": _check_flag,
        "live_reflect_audio": _check_flag,
        "live_webrtc_hangup": _check_live_webrtc_hangup,
    }
    check = checks.get(name)
    if check is None:
        return False
    check(name, value)
    return True


def _check_option(name: str, value: object) -> None:
    if _check_named(name, value):
        return
    if name == "api_key":
        if not isinstance(value, str) or not value.startswith("sk-"):
            raise OptionsError("api_key must be a string starting with 'sk-'")
    elif name == "mic_transcript":
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise OptionsError("mic_transcript must be a non-empty string or null")
    elif name in _SECONDS_OPTIONS:
        _check_number(name, value, integral=False, minimum=0.01)
    elif name == "calls_status":
        if value is not None:
            _check_number(name, value, integral=True, minimum=400)
            if cast(int, value) > 599:
                raise OptionsError("calls_status must be an HTTP error status (400-599) or null")
    else:
        _check_number(name, value, integral=True, minimum=0)


def apply_patch(options: StandinOptions, patch: object) -> None:
    """Validate the whole patch first, then apply it, so a bad patch changes nothing."""
    if not isinstance(patch, dict):
        raise OptionsError("body must be a JSON object")
    known = {f.name for f in dataclasses.fields(StandinOptions)}
    for name, value in patch.items():
        if name not in known:
            raise OptionsError(f"unknown option {name!r}")
        _check_option(name, value)
    for name, value in patch.items():
        setattr(options, name, float(value) if name in _SECONDS_OPTIONS else value)


def take_mic_transcript(options: StandinOptions) -> str | None:
    """The `mic_transcript` for the turn being committed, used once."""
    transcript, options.mic_transcript = options.mic_transcript, None
    return transcript
