"""Checks that an event the stand-in emits is a GA server event, exactly as the SDK types it.

The SDK's models accept extra keys, so a misspelt field would pass a plain `model_validate`;
we also reject any extra key. `session.*` events carry the effective session, which the SDK
types loosely (the request model), so it is checked against the response model instead.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Mapping
from typing import Any

from openai.types.realtime import (
    ClientSecretCreateResponse,
    RealtimeServerEvent,
    RealtimeSessionCreateResponse,
)
from pydantic import BaseModel


class InvalidServerEvent(ValueError):
    """The stand-in was about to send something OpenAI would never send."""


def _dispatch_table() -> dict[str, type[BaseModel]]:
    union = typing.get_args(RealtimeServerEvent)[0]
    table: dict[str, type[BaseModel]] = {}
    for model in typing.get_args(union):
        (event_type,) = typing.get_args(model.model_fields["type"].annotation)
        table[event_type] = model
    return table


MODEL_BY_TYPE = _dispatch_table()


@functools.cache
def build_validators() -> None:
    """Build every event model's validator now (~35 ms once per process).

    The SDK defers pydantic schema building to first use, which would otherwise cost the
    first call a few milliseconds per event type, in the middle of a paced response.
    """
    models: list[type[BaseModel]] = [
        *MODEL_BY_TYPE.values(),
        RealtimeSessionCreateResponse,
        ClientSecretCreateResponse,
    ]
    for model in models:
        model.model_rebuild(force=True)


def _extra_keys(value: Any, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(value, BaseModel):
        found += [f"{path}.{key}" for key in value.model_extra or {}]
        for name in type(value).model_fields:
            found += _extra_keys(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _extra_keys(item, f"{path}[{index}]")
    return found


def validate_server_event(event: Mapping[str, Any]) -> None:
    """Raise InvalidServerEvent unless `event` validates as a GA RealtimeServerEvent with no extra keys."""
    event_type = event.get("type")
    model = MODEL_BY_TYPE.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        raise InvalidServerEvent(f"not a GA server event type: {event_type!r}")
    if not event.get("event_id"):
        raise InvalidServerEvent(f"{event_type}: missing event_id")
    try:
        parsed = model.model_validate(event)
        if event_type in ("session.created", "session.updated"):
            session = RealtimeSessionCreateResponse.model_validate(event["session"])
            extras = _extra_keys(session, "session")
            parsed_extras = [key for key in _extra_keys(parsed, "") if not key.startswith(".session")]
            extras += parsed_extras
        else:
            extras = _extra_keys(parsed, "")
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise InvalidServerEvent(f"{event_type}: {exc}") from exc
    if extras:
        raise InvalidServerEvent(f"{event_type}: unknown keys {[key.lstrip('.') for key in extras]}")
