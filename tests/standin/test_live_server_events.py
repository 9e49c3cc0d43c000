"""The stand-in's own check on what it sends: only Live server events, exactly as the SDK types them."""

from __future__ import annotations

from typing import Any

import pytest

from local.openai_standin import InvalidServerEvent
from local.openai_standin.live.backend_events import BackendResponse, function_call_item
from local.openai_standin.live.server_events import validate_live_server_event

MUTED: dict[str, Any] = {"type": "session.input_audio.muted", "event_id": "event_1"}


def test_a_live_server_event_passes() -> None:
    validate_live_server_event(MUTED)
    backend = BackendResponse("gpt-5.5", 12)
    for nested in (
        backend.created(),
        backend.item_done(0, function_call_item("f", "{}")),
        backend.completed(),
    ):
        validate_live_server_event(
            {"type": "response.event", "event_id": "e", "delegation_id": "d", "event": nested}
        )
    validate_live_server_event(
        {"type": "session.input_audio.append", "audio": "AAAA"}
    )  # reflected: no event_id


@pytest.mark.parametrize(
    ("event", "why"),
    [
        ({**MUTED, "extra": 1}, "unknown keys"),
        ({"type": "session.input_audio.muted"}, "missing event_id"),
        ({"type": "conversation.item.added", "event_id": "e"}, "not a Live server event"),
        ({"type": "session.output_transcript.delta", "event_id": "e", "delta": "hi"}, "end_ms"),
        (
            {
                "type": "response.event",
                "event_id": "e",
                "event": {"type": "response.completed", "sequence_number": 0},
            },
            "response",
        ),
        ({"type": "response.event", "event_id": "e", "event": {"type": "response.done"}}, "not a Responses"),
    ],
)
def test_anything_else_is_refused(event: dict[str, Any], why: str) -> None:
    with pytest.raises(InvalidServerEvent, match=why):
        validate_live_server_event(event)
