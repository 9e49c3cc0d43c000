"""Parse and validate what the browser sends on `oai-events`, as GA client events."""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass
from typing import Any

from openai.types.realtime import RealtimeClientEventParam
from pydantic import TypeAdapter

from .session_config import validate_session_request
from .strict import StrictValidationError, strict_validate
from .tools_config import check_tools


def _adapters() -> dict[str, TypeAdapter[Any]]:
    table: dict[str, TypeAdapter[Any]] = {}
    for param in typing.get_args(RealtimeClientEventParam):
        # get_type_hints strips `Required[...]`, leaving `Literal["<type>"]`.
        (event_type,) = typing.get_args(typing.get_type_hints(param)["type"])
        table[event_type] = TypeAdapter(param)
    return table


ADAPTER_BY_TYPE = _adapters()


@dataclass(frozen=True)
class ClientEventError(Exception):
    """A client event OpenAI would answer with an `error` event; the session continues."""

    message: str
    code: str
    param: str | None = None
    event_id: str | None = None


def parse_client_event(text: str) -> dict[str, Any]:
    """The validated event, or ClientEventError naming what is wrong and where."""
    try:
        event = json.loads(text)
    except ValueError:
        raise ClientEventError("Invalid JSON: the event could not be parsed.", "invalid_json") from None
    if not isinstance(event, dict):
        raise ClientEventError("The event must be a JSON object.", "invalid_event")
    raw_id = event.get("event_id")
    event_id = raw_id if isinstance(raw_id, str) else None
    event_type = event.get("type")
    if event_type is None:
        raise ClientEventError("The 'type' field is missing.", "invalid_event", None, event_id)
    adapter = ADAPTER_BY_TYPE.get(event_type) if isinstance(event_type, str) else None
    if adapter is None:
        raise ClientEventError(
            f"Invalid value: {event_type!r}. Supported values are: {', '.join(sorted(ADAPTER_BY_TYPE))}.",
            "invalid_value",
            "type",
            event_id,
        )
    try:
        if event_type == "session.update":
            # The session first and on its own: its errors then name `session.audio…` (and beta
            # keys get their own code) rather than the SDK's union branches, and it may hold the
            # nulls the API reference allows but the SDK's types do not. The rest of the event is
            # checked around a minimal session.
            session = validate_session_request(event.get("session"), "session")
            validated: dict[str, Any] = strict_validate(adapter, {**event, "session": {"type": "realtime"}})
            validated["session"] = session
        else:
            validated = strict_validate(adapter, event)
            if event_type == "response.create":
                check_tools((validated.get("response") or {}).get("tools"), "response.tools")
    except StrictValidationError as exc:
        raise ClientEventError(exc.message, exc.code, exc.param, event_id) from None
    return validated
