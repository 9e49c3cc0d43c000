"""Realtime session configs: strict validation of what a client asks for, and the effective
session object OpenAI reports back (in client_secrets, `session.created`, `session.updated`)."""

from __future__ import annotations

import copy
import typing
from collections.abc import Mapping
from typing import Any

from openai.types.realtime import RealtimeSessionCreateRequestParam, RealtimeSessionCreateResponse
from openai.types.realtime.client_secret_create_params import ExpiresAfter
from openai.types.realtime.realtime_audio_config_output_param import RealtimeAudioConfigOutputParam
from pydantic import TypeAdapter

from .ids import new_id
from .strict import StrictValidationError, check_range, join, strict_validate
from .tools_config import check_tools


def _literals(annotation: Any) -> tuple[str, ...]:
    """The string literals listed in an SDK annotation such as `Union[str, Literal[...]]`."""
    found: list[str] = []
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is typing.Literal:
            found.extend(typing.get_args(arg))
    return tuple(found)


KNOWN_MODELS = _literals(typing.get_type_hints(RealtimeSessionCreateRequestParam)["model"])
BUILTIN_VOICES = _literals(typing.get_type_hints(RealtimeAudioConfigOutputParam)["voice"])
DEFAULT_MODEL = "gpt-realtime"
DEFAULT_INSTRUCTIONS = (
    "Your knowledge cutoff is 2023-10. You are a helpful, witty, and friendly AI. "
    "Act like a human, but remember that you aren't a human."
)

_SESSION_ADAPTER: TypeAdapter[Any] = TypeAdapter(RealtimeSessionCreateRequestParam)
_EXPIRES_ADAPTER: TypeAdapter[Any] = TypeAdapter(ExpiresAfter)
_RESPONSE_ADAPTER = TypeAdapter(RealtimeSessionCreateResponse)
_REPORTED_FIELDS = frozenset(RealtimeSessionCreateResponse.model_fields)

# Flat session keys of the beta interface; GA rejects them as a beta-shaped request.
BETA_SESSION_KEYS = frozenset(
    {
        "modalities",
        "voice",
        "input_audio_format",
        "output_audio_format",
        "input_audio_transcription",
        "input_audio_noise_reduction",
        "turn_detection",
        "temperature",
        "max_response_output_tokens",
        "client_secret",
        "speed",
    }
)

_SERVER_VAD_DEFAULTS: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 200,
    "idle_timeout_ms": None,
    "create_response": True,
    "interrupt_response": True,
}
_SEMANTIC_VAD_DEFAULTS: dict[str, Any] = {
    "type": "semantic_vad",
    "eagerness": "auto",
    "create_response": True,
    "interrupt_response": True,
}
_PCM24K: dict[str, Any] = {"type": "audio/pcm", "rate": 24000}
# Fields OpenAI's API reference says "can be set to `null` to turn off" but the SDK's TypedDicts
# type as objects only; the reference wins. (Every other nullable field is Optional in the SDK too.)
NULL_MEANS_OFF = (("audio", "input", "noise_reduction"), ("audio", "input", "transcription"))


def _reject_beta_keys(data: Mapping[str, Any], root: str) -> None:
    for key in data:
        if key in BETA_SESSION_KEYS:
            raise StrictValidationError(
                "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.",
                join(root, key),
                "beta_api_shape_disabled",
            )


def _check_bounds(session: Mapping[str, Any], root: str) -> None:
    """Limits the SDK's TypedDicts do not enforce but OpenAI does."""
    model = session.get("model")
    if model is not None and model not in KNOWN_MODELS:
        raise StrictValidationError(
            f"Invalid value: {model!r}. Supported values are: {', '.join(KNOWN_MODELS)}.",
            join(root, "model"),
            "invalid_value",
        )
    modalities = session.get("output_modalities")
    if modalities is not None and modalities not in (["audio"], ["text"]):
        raise StrictValidationError(
            "Invalid 'output_modalities': expected ['audio'] or ['text'] "
            "(text and audio cannot be combined).",
            join(root, "output_modalities"),
            "invalid_value",
        )
    tokens = session.get("max_output_tokens")
    if tokens is not None and tokens != "inf":
        check_range(join(root, "max_output_tokens"), tokens, 1, 4096)
    check_tools(session.get("tools"), join(root, "tools"))
    audio = session.get("audio") or {}
    output = audio.get("output") or {}
    voice = output.get("voice")
    if isinstance(voice, Mapping):
        # Custom voices belong to an OpenAI account; this stand-in has none.
        raise StrictValidationError(
            f"Voice {voice.get('id')!r} not found. Use one of: {', '.join(BUILTIN_VOICES)}.",
            join(root, "audio.output.voice"),
            "invalid_value",
        )
    if isinstance(voice, str) and voice not in BUILTIN_VOICES:
        raise StrictValidationError(
            f"Invalid value: {voice!r}. Supported values are: {', '.join(BUILTIN_VOICES)}.",
            join(root, "audio.output.voice"),
            "invalid_value",
        )
    if "speed" in output:
        check_range(join(root, "audio.output.speed"), output["speed"], 0.25, 1.5)
    detection = (audio.get("input") or {}).get("turn_detection") or {}
    if "threshold" in detection:
        check_range(join(root, "audio.input.turn_detection.threshold"), detection["threshold"], 0.0, 1.0)
    if detection.get("idle_timeout_ms") is not None:
        check_range(
            join(root, "audio.input.turn_detection.idle_timeout_ms"),
            detection["idle_timeout_ms"],
            5000,
            30000,
        )
    truncation = session.get("truncation")
    if isinstance(truncation, Mapping) and "retention_ratio" in truncation:
        check_range(join(root, "truncation.retention_ratio"), truncation["retention_ratio"], 0.0, 1.0)


def validate_session_request(session: Any, root: str = "session") -> dict[str, Any]:
    """A realtime session config as a client may send it; raises StrictValidationError."""
    if not isinstance(session, Mapping):
        raise StrictValidationError(
            f"Invalid type for '{root}': expected an object.", root or None, "invalid_type"
        )
    _reject_beta_keys(session, root)
    kind = session.get("type")
    if kind is None:
        raise StrictValidationError(
            f"Missing required parameter: '{join(root, 'type')}'.",
            join(root, "type"),
            "missing_required_parameter",
        )
    if kind != "realtime":
        raise StrictValidationError(
            f"Invalid value: {kind!r}. This stand-in supports only 'realtime' sessions.",
            join(root, "type"),
            "invalid_value",
        )
    session, turned_off = _without_nulls_meaning_off(session)
    validated: dict[str, Any] = strict_validate(_SESSION_ADAPTER, session, root)
    _check_bounds(validated, root)
    for path in turned_off:
        parent = validated
        for key in path[:-1]:
            parent = parent.setdefault(key, {})
        parent[path[-1]] = None
    return validated


def _without_nulls_meaning_off(session: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, ...]]]:
    """A copy of `session` without the NULL_MEANS_OFF fields that are null, and their paths."""
    copied = copy.deepcopy(dict(session))
    turned_off: list[tuple[str, ...]] = []
    for path in NULL_MEANS_OFF:
        parent: Any = copied
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, Mapping) else None
        if isinstance(parent, dict) and path[-1] in parent and parent[path[-1]] is None:
            del parent[path[-1]]
            turned_off.append(path)
    return copied, turned_off


def validate_client_secret_request(body: Any) -> tuple[int, dict[str, Any]]:
    """The body of POST /v1/realtime/client_secrets -> (ttl seconds, session request)."""
    if not isinstance(body, Mapping):
        raise StrictValidationError("Invalid body: expected a JSON object.", None, "invalid_type")
    _reject_beta_keys(body, "")
    for key in body:
        if key not in ("expires_after", "session"):
            raise StrictValidationError(f"Unknown parameter: '{key}'.", key, "unknown_parameter")
    seconds = 600
    if "expires_after" in body:
        expires = strict_validate(_EXPIRES_ADAPTER, body["expires_after"], "expires_after")
        seconds = expires.get("seconds", 600)
        check_range("expires_after.seconds", seconds, 10, 7200)
    session = validate_session_request(body["session"]) if "session" in body else {"type": "realtime"}
    return seconds, session


def _turn_detection(requested: Any) -> Any:
    if not isinstance(requested, Mapping):
        return None
    defaults = _SEMANTIC_VAD_DEFAULTS if requested.get("type") == "semantic_vad" else _SERVER_VAD_DEFAULTS
    return {**defaults, **requested}


def default_session() -> dict[str, Any]:
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": new_id("sess_", 11),
        "model": DEFAULT_MODEL,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": 0,
        "audio": {
            "input": {
                "format": dict(_PCM24K),
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": dict(_SERVER_VAD_DEFAULTS),
            },
            "output": {"format": dict(_PCM24K), "voice": "alloy", "speed": 1.0},
        },
        "include": None,
    }


def apply_session_request(current: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """Merge a validated request into an effective session: objects merge, everything else replaces."""
    merged = copy.deepcopy(dict(current))
    for key, value in request.items():
        if key not in _REPORTED_FIELDS:
            continue  # accepted (e.g. parallel_tool_calls) but not part of the reported session
        if key == "audio":
            for direction in ("input", "output"):
                for field, setting in (value.get(direction) or {}).items():
                    target = merged["audio"][direction]
                    target[field] = _turn_detection(setting) if field == "turn_detection" else setting
        else:
            merged[key] = copy.deepcopy(value)
    _RESPONSE_ADAPTER.validate_python(merged)
    return merged
