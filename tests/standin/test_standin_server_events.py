"""validate_server_event: the gate every emitted event passes."""

from __future__ import annotations

from typing import Any

import pytest

from local.openai_standin import InvalidServerEvent, validate_server_event
from local.openai_standin.session_config import apply_session_request, default_session

DELTA = {
    "type": "response.output_audio_transcript.delta",
    "event_id": "event_1",
    "response_id": "resp_1",
    "item_id": "item_1",
    "output_index": 0,
    "content_index": 0,
    "delta": "Hi",
}


def test_a_ga_event_validates() -> None:
    validate_server_event(DELTA)
    validate_server_event({"type": "session.created", "event_id": "event_2", "session": default_session()})


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({**DELTA, "type": "response.audio_transcript.delta"}, "not a GA server event"),
        ({**DELTA, "type": "response.text.delta"}, "not a GA server event"),
        ({**DELTA, "respons_id": "x"}, "unknown keys"),
        ({k: v for k, v in DELTA.items() if k != "delta"}, "delta"),
        ({k: v for k, v in DELTA.items() if k != "event_id"}, "event_id"),
        (
            {"type": "session.created", "event_id": "e", "session": {**default_session(), "voice": "x"}},
            "voice",
        ),
    ],
)
def test_anything_openai_would_not_send_is_rejected(event: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidServerEvent, match=reason):
        validate_server_event(event)


def test_a_session_request_merges_into_the_effective_session() -> None:
    session = apply_session_request(
        default_session(),
        {
            "type": "realtime",
            "audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}}},
        },
    )
    assert session["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad",
        "eagerness": "low",
        "create_response": True,
        "interrupt_response": True,
    }
    assert session["audio"]["output"]["voice"] == "alloy"
