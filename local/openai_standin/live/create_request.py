"""`POST /v1/live/sessions`: the body checked as strictly as OpenAI checks it.

The SDK's `LiveCreateParams` (and so `MediaSessionConfigParam`) is the schema: an unknown key at
any level is `unknown_parameter` naming its dotted path, a missing one `missing_required_parameter`.
On top of the schema, what the SDK types as a plain string or leaves to the server: the model, the
voice, the limits of `input` and `instructions`, the tools the delegation guide supports, and the
data-channel selectors.
"""

from __future__ import annotations

import functools
import math
import typing
from typing import Any

from openai.types.live import BuiltInVoice, ClientEventParam, LiveCreateParams
from pydantic import TypeAdapter

from ..strict import StrictValidationError, check_range, strict_validate
from .server_events import LIVE_SERVER_EVENT_TYPES

LIVE_MODELS = ("gpt-live-1", "gpt-live-1.1")
BUILT_IN_VOICES: tuple[str, ...] = typing.get_args(BuiltInVoice)
MAX_INPUT_MESSAGES = 128
MAX_INPUT_TOKENS = 8192
MAX_INSTRUCTIONS_TOKENS = 16384
# The delegation guide documents these two for the Responses backend; the SDK's union is wider.
SUPPORTED_TOOLS = ("function", "web_search")


@functools.cache
def _adapter() -> TypeAdapter[Any]:
    return TypeAdapter(LiveCreateParams)


def _client_event_types() -> frozenset[str]:
    names = set()
    for param in typing.get_args(ClientEventParam):
        (name,) = typing.get_args(typing.get_type_hints(param)["type"])
        names.add(name)
    return frozenset(names)


CLIENT_EVENT_TYPES = _client_event_types()


def estimate_tokens(text: str) -> int:
    """About four characters a token, as OpenAI's rule of thumb for English."""
    return math.ceil(len(text) / 4)


def _fail(message: str, param: str, code: str = "invalid_value") -> StrictValidationError:
    return StrictValidationError(message, param, code)


def _check_model(session: dict[str, Any]) -> None:
    model = session["model"]
    if model not in LIVE_MODELS:
        raise _fail(
            f"The model '{model}' is not supported for Live sessions. Use one of: {', '.join(LIVE_MODELS)}.",
            "session.model",
            "invalid_model",
        )


def _check_voice(session: dict[str, Any]) -> None:
    voice = ((session.get("audio") or {}).get("output") or {}).get("voice")
    if voice is None:
        return
    if isinstance(voice, dict):
        raise _fail(
            f"The custom voice '{voice.get('id')}' is not available to this project.",
            "session.audio.output.voice",
        )
    if voice not in BUILT_IN_VOICES:
        raise _fail(
            f"Invalid value: '{voice}'. Supported values are: {', '.join(BUILT_IN_VOICES)}.",
            "session.audio.output.voice",
        )


def _check_input(session: dict[str, Any]) -> None:
    items = session.get("input") or []
    if len(items) > MAX_INPUT_MESSAGES:
        raise _fail(
            f"'session.input' has {len(items)} messages; at most {MAX_INPUT_MESSAGES} are allowed.",
            "session.input",
        )
    tokens = 0
    for index, item in enumerate(items):
        content = list(item.get("content") or [])
        if len(content) != 1:
            raise _fail(
                f"Each input message needs exactly one content part; got {len(content)}.",
                f"session.input[{index}].content",
            )
        tokens += estimate_tokens(content[0]["text"])
    if tokens > MAX_INPUT_TOKENS:
        raise _fail(
            f"'session.input' renders to about {tokens} tokens; at most {MAX_INPUT_TOKENS} are allowed.",
            "session.input",
        )


def _check_instructions(session: dict[str, Any]) -> None:
    instructions = session.get("instructions")
    if isinstance(instructions, str) and estimate_tokens(instructions) > MAX_INSTRUCTIONS_TOKENS:
        raise _fail(
            f"'session.instructions' is about {estimate_tokens(instructions)} tokens; "
            f"at most {MAX_INSTRUCTIONS_TOKENS} are allowed.",
            "session.instructions",
            "string_above_max_length",
        )


def unsupported_tool(tools: Any) -> tuple[int, str] | None:
    """The first tool (index, type) the delegation guide does not support, if any."""
    for index, tool in enumerate(tools if isinstance(tools, list) else []):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if isinstance(kind, str) and kind not in SUPPORTED_TOOLS:
            return index, kind
    return None


def unsupported_tool_message(kind: str) -> str:
    supported = ", ".join(SUPPORTED_TOOLS)
    return f"Invalid value: '{kind}'. Supported tool types for Responses delegation are: {supported}."


def _check_tool_types(body: dict[str, Any]) -> None:
    """Before the schema: the SDK types the other hosted tools loosely, so their own fields would
    otherwise be reported as unknown rather than the tool as unsupported."""
    session = body.get("session")
    delegation = session.get("delegation") if isinstance(session, dict) else None
    responses = delegation.get("responses") if isinstance(delegation, dict) else None
    found = unsupported_tool(responses.get("tools") if isinstance(responses, dict) else None)
    if found is not None:
        index, kind = found
        raise _fail(unsupported_tool_message(kind), f"session.delegation.responses.tools[{index}].type")


def _check_standby(session: dict[str, Any]) -> None:
    idle = session.get("idle_timeout_s")
    if idle is not None and idle <= 0:
        raise _fail(
            f"Invalid 'session.idle_timeout_s': expected a positive whole number of seconds, got {idle}.",
            "session.idle_timeout_s",
        )
    wake = session.get("wake_policy") or {}
    check_range("session.wake_policy.vad_threshold", wake.get("vad_threshold"), 0.0, 1.0)


def _check_data_channel(session: dict[str, Any]) -> None:
    channel = (session.get("client") or {}).get("data_channel") or {}
    client_events = channel.get("allowed_client_events", "all")
    if client_events != "all":
        for index, name in enumerate(client_events):
            if name not in CLIENT_EVENT_TYPES:
                raise _fail(
                    f"Invalid value: '{name}' is not a Live client event type.",
                    f"session.client.data_channel.allowed_client_events[{index}]",
                )
    server_events = channel.get("allowed_server_events", "all")
    if server_events == "all":
        return
    for index, selector in enumerate(server_events):
        path = f"session.client.data_channel.allowed_server_events[{index}]"
        if selector["type"] not in LIVE_SERVER_EVENT_TYPES:
            raise _fail(
                f"Invalid value: '{selector['type']}' is not a Live server event type.", f"{path}.type"
            )
        if selector["type"] == "response.event" and "response_event" not in selector:
            raise _fail(
                "Missing required parameter: 'response_event' (required when type is 'response.event').",
                f"{path}.response_event",
                "missing_required_parameter",
            )
        if selector["type"] != "response.event" and "response_event" in selector:
            raise _fail(
                "'response_event' is only allowed when type is 'response.event'.",
                f"{path}.response_event",
                "unknown_parameter",
            )


def validate_create(body: Any) -> dict[str, Any]:
    """The validated body, or StrictValidationError naming the first problem as OpenAI would."""
    if not isinstance(body, dict):
        raise StrictValidationError("The request body must be a JSON object.", None, "invalid_type")
    session = body.get("session")
    audio = session.get("audio") if isinstance(session, dict) else None
    if isinstance(audio, dict) and "format" in audio:
        raise _fail(
            "'session.audio.format' is not accepted for WebRTC sessions: "
            "the SDP negotiates the audio format.",
            "session.audio.format",
            "unknown_parameter",
        )
    _check_tool_types(body)
    validated: dict[str, Any] = strict_validate(_adapter(), body)
    session = validated["session"]
    for check in (
        _check_model,
        _check_voice,
        _check_input,
        _check_instructions,
        _check_standby,
        _check_data_channel,
    ):
        check(session)
    return validated
