"""GPT-Live events for the page's module tests, each checked against openai-python's `openai.types.live`
models (the source of truth for GPT-Live's wire format) before a test uses it.

The SDK's models accept extra keys, so a misspelt field would pass a plain validation: `strict` also
rejects any key a model does not declare, at every depth.
"""

from __future__ import annotations

import functools
from typing import Any

from openai.types.live import ConnectClientEvent, ConnectServerEvent
from openai.types.responses import ResponseOutputItemDoneEvent
from pydantic import BaseModel, TypeAdapter


@functools.cache
def _server() -> TypeAdapter[Any]:
    return TypeAdapter(ConnectServerEvent)


@functools.cache
def _client() -> TypeAdapter[Any]:
    return TypeAdapter(ConnectClientEvent)


def _no_extra(model: object, where: str) -> None:
    if isinstance(model, BaseModel):
        extra = model.model_extra or {}
        assert not extra, f"{where}: keys the SDK does not declare: {sorted(extra)}"
        for name in type(model).model_fields:
            _no_extra(getattr(model, name), f"{where}.{name}")
    elif isinstance(model, list | tuple):
        for index, item in enumerate(model):
            _no_extra(item, f"{where}[{index}]")


def server_event(event: dict[str, Any]) -> Any:
    """The typed server event, after checking `event` is one GPT-Live sends (a nested Responses
    `response.output_item.done` included)."""
    typed = _server().validate_python(event)
    _no_extra(typed, event["type"])
    if event["type"] == "response.event" and event["event"].get("type") == "response.output_item.done":
        _no_extra(ResponseOutputItemDoneEvent.model_validate(event["event"]), "response.event.event")
    return typed


def client_event(event: dict[str, Any]) -> Any:
    """The typed client event, after checking `event` is one GPT-Live accepts."""
    typed = _client().validate_python(event)
    _no_extra(typed, event["type"])
    return typed


def transcript(speaker: str, event_id: str, delta: str, start_ms: int, end_ms: int) -> dict[str, Any]:
    """A checked `session.input_transcript.delta` (user) or `session.output_transcript.delta` (assistant)."""
    kind = "input" if speaker == "user" else "output"
    event = {
        "type": f"session.{kind}_transcript.delta",
        "event_id": event_id,
        "delta": delta,
        "start_ms": start_ms,
        "end_ms": end_ms,
    }
    server_event(event)
    return event


def function_call_done(name: str, call_id: str, item_id: str, event_id: str) -> dict[str, Any]:
    """A checked `response.event` wrapping the backend's finished function call."""
    event = {
        "type": "response.event",
        "event_id": event_id,
        "delegation_id": "item_d1",
        "event": {
            "type": "response.output_item.done",
            "output_index": 0,
            "sequence_number": 3,
            "item": {
                "type": "function_call",
                "id": item_id,
                "call_id": call_id,
                "name": name,
                "arguments": "{}",
                "status": "completed",
            },
        },
    }
    server_event(event)
    return event
