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

    def as_public_dict(self) -> dict[str, Any]:
        """The options as JSON, with the API key reduced to a fingerprint."""
        from .ids import fingerprint  # noqa: PLC0415 - keeps this module import-light

        data = dataclasses.asdict(self)
        data["api_key"] = {"sha256": fingerprint(self.api_key)}
        return data


class OptionsError(ValueError):
    """A control-API patch names an unknown option or gives a value of the wrong kind."""


def _check_number(name: str, value: object, *, integral: bool, minimum: float) -> None:
    kinds: tuple[type, ...] = (int,) if integral else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "an integer" if integral else "a number"
        raise OptionsError(f"{name} must be {kind}")
    if cast(float, value) < minimum:
        raise OptionsError(f"{name} must be >= {minimum:g}")


def _check_option(name: str, value: object) -> None:
    if name == "api_key":
        if not isinstance(value, str) or not value.startswith("sk-"):
            raise OptionsError("api_key must be a string starting with 'sk-'")
    elif name == "mic_turns":
        if not isinstance(value, bool):
            raise OptionsError("mic_turns must be true or false")
    elif name == "mic_transcript":
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise OptionsError("mic_transcript must be a non-empty string or null")
    elif name == "session_max_seconds":
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
        setattr(options, name, float(value) if name == "session_max_seconds" else value)


def take_mic_transcript(options: StandinOptions) -> str | None:
    """The `mic_transcript` for the turn being committed, used once."""
    transcript, options.mic_transcript = options.mic_transcript, None
    return transcript
