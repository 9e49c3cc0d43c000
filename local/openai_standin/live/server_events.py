"""Checks that an event the Live stand-in emits is one GPT-Live sends, exactly as the SDK types it.

`ConnectServerEvent` (every event a data channel or a sideband can carry) is the schema, with no
extra key anywhere; the Responses events a `response.event` wraps are checked against the SDK's
`ResponseStreamEvent`, since `ResponseEvent.event` is typed as a plain dict.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Mapping
from typing import Any

from openai.types.live import ConnectServerEvent
from openai.types.responses import ResponseStreamEvent
from pydantic import BaseModel

from ..server_events import InvalidServerEvent


def _dispatch_table() -> dict[str, type[BaseModel]]:
    union = typing.get_args(ConnectServerEvent)[0]
    table: dict[str, type[BaseModel]] = {}
    for model in typing.get_args(union):
        (event_type,) = typing.get_args(model.model_fields["type"].annotation)
        table[event_type] = model
    return table


MODEL_BY_TYPE = _dispatch_table()
LIVE_SERVER_EVENT_TYPES = frozenset(MODEL_BY_TYPE)
# Reflected audio carries no event_id (the SDK's own types say so).
WITHOUT_EVENT_ID = frozenset({"session.input_audio.append", "session.output_audio.delta"})


@functools.cache
def _responses_models() -> dict[str, type[BaseModel]]:
    """The SDK's discriminator is its own (PropertyInfo); dispatching on `type` here gives one
    model's errors instead of a union's hundreds."""
    union = typing.get_args(ResponseStreamEvent)[0]
    table: dict[str, type[BaseModel]] = {}
    for model in typing.get_args(union):
        (event_type,) = typing.get_args(model.model_fields["type"].annotation)
        table[event_type] = model
    return table


@functools.cache
def build_live_validators() -> None:
    """Build the validators at start-up (~0.4 s, once per process) rather than inside the first
    session's events."""
    for model in MODEL_BY_TYPE.values():
        model.model_rebuild(force=True)
    for model in _responses_models().values():
        model.model_rebuild(force=True)


def extra_keys(value: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(value, BaseModel):
        found += [f"{path}.{key}" for key in value.model_extra or {}]
        for name in type(value).model_fields:
            found += extra_keys(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += extra_keys(item, f"{path}[{index}]")
    return found


def validate_response_stream_event(event: Mapping[str, Any]) -> None:
    """A Responses stream event as `response.event` wraps it."""
    model = _responses_models().get(str(event.get("type")))
    if model is None:
        raise InvalidServerEvent(f"response.event: not a Responses stream event: {event.get('type')!r}")
    try:
        parsed = model.model_validate(event)
    except ValueError as exc:
        raise InvalidServerEvent(f"response.event: {exc}") from exc
    extras = extra_keys(parsed)
    if extras:
        raise InvalidServerEvent(f"response.event {event.get('type')}: unknown keys {extras}")


def validate_live_server_event(event: Mapping[str, Any]) -> None:
    """Raise InvalidServerEvent unless `event` is a Live server event with no extra keys."""
    event_type = event.get("type")
    model = MODEL_BY_TYPE.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        raise InvalidServerEvent(f"not a Live server event type: {event_type!r}")
    if event_type not in WITHOUT_EVENT_ID and not event.get("event_id"):
        raise InvalidServerEvent(f"{event_type}: missing event_id")
    try:
        parsed = model.model_validate(event)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise InvalidServerEvent(f"{event_type}: {exc}") from exc
    extras = extra_keys(parsed)
    if extras:
        raise InvalidServerEvent(f"{event_type}: unknown keys {[key.lstrip('.') for key in extras]}")
    if event_type == "response.event":
        validate_response_stream_event(event["event"])
