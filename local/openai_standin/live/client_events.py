"""Parse and validate the Live client events a data channel or a sideband sends.

Each type is checked strictly against its SDK TypedDict (`ConnectClientEventParam`, the events a
WebRTC session's channel and sidebands accept). The primary-WebSocket-only events
(`session.start`, `session.input_audio.append`) are recognised so the error can say why they are
refused here.
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass
from typing import Any

from openai.types.live import ConnectClientEventParam
from pydantic import TypeAdapter

from ..strict import StrictValidationError, strict_validate


def _adapters() -> dict[str, TypeAdapter[Any]]:
    table: dict[str, TypeAdapter[Any]] = {}
    for param in typing.get_args(ConnectClientEventParam):
        (event_type,) = typing.get_args(typing.get_type_hints(param)["type"])
        table[event_type] = TypeAdapter(param)
    return table


ADAPTER_BY_TYPE = _adapters()
_NOT_ON_MEDIA_TRANSPORTS = {
    "session.start": "A WebRTC session starts when it is created; do not send session.start.",
    "session.input_audio.append": (
        "Audio arrives on the media track of a WebRTC session, not as appended events."
    ),
}


@dataclass(frozen=True)
class LiveClientEventError(Exception):
    """A client event GPT-Live answers with an `error` event; the session continues."""

    message: str
    code: str
    param: str | None = None
    event_id: str | None = None


def event_identity(text: str) -> tuple[str | None, str | None]:
    """The `type` and `event_id` of a message, if it is a JSON object that has them (for permissions)."""
    try:
        event = json.loads(text)
    except ValueError:
        return None, None
    if not isinstance(event, dict):
        return None, None
    event_type, event_id = event.get("type"), event.get("event_id")
    return (
        event_type if isinstance(event_type, str) else None,
        event_id if isinstance(event_id, str) else None,
    )


def parse_live_client_event(text: str) -> dict[str, Any]:
    try:
        event = json.loads(text)
    except ValueError:
        raise LiveClientEventError("Invalid JSON: the event could not be parsed.", "invalid_json") from None
    if not isinstance(event, dict):
        raise LiveClientEventError("The event must be a JSON object.", "invalid_event")
    raw_id = event.get("event_id")
    event_id = raw_id if isinstance(raw_id, str) else None
    event_type = event.get("type")
    if event_type is None:
        raise LiveClientEventError(
            "Missing required parameter: 'type'.", "missing_required_parameter", "type", event_id
        )
    if event_type in _NOT_ON_MEDIA_TRANSPORTS:
        raise LiveClientEventError(_NOT_ON_MEDIA_TRANSPORTS[event_type], "invalid_value", "type", event_id)
    adapter = ADAPTER_BY_TYPE.get(event_type) if isinstance(event_type, str) else None
    if adapter is None:
        raise LiveClientEventError(
            f"Invalid value: {event_type!r}. Supported values are: {', '.join(sorted(ADAPTER_BY_TYPE))}.",
            "invalid_value",
            "type",
            event_id,
        )
    try:
        validated: dict[str, Any] = strict_validate(adapter, event)
    except StrictValidationError as exc:
        raise LiveClientEventError(exc.message, exc.code, exc.param, event_id) from None
    return validated
