"""One server event from the sideband → what it means: metering, a tool call, or the call's end.

Only these events matter to the companion; every other one (audio deltas, transcripts, VAD) is
ignored without being parsed further. Nothing from an event's content is logged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from vend.companion.finalise import Reason
from vend.companion.metering import Meter
from vend.companion.tool_answers import ToolAnswers
from vend.observability import logger, record_companion_failure

RESPONSE_DONE = "response.done"
ARGUMENTS_DONE = "response.function_call_arguments.done"
TRANSCRIPTION_DONE = "conversation.item.input_audio_transcription.completed"


class Dispatch:
    def __init__(self, call_id: str, meter: Meter, tools: ToolAnswers) -> None:
        self._call_id = call_id
        self._meter = meter
        self._tools = tools

    def handle(self, event: Mapping[str, Any]) -> Reason | None:
        """Act on one event; the reason to end the call now, if it gives one."""
        kind = event.get("type")
        if kind == ARGUMENTS_DONE:
            self._tools.arguments_done(event)
        elif kind == RESPONSE_DONE:
            self._tools.response_done(event)
            if self._metered(self._meter.response_done, event) is not None:
                return "spend_cap"
            response = event.get("response")
            response_id = response.get("id") if isinstance(response, dict) else None
            if isinstance(response_id, str) and self._tools.is_goodbye(response_id):
                return "assistant"
        elif kind == TRANSCRIPTION_DONE:
            if self._metered(self._meter.transcription_done, event) is not None:
                return "spend_cap"
        elif kind == "error":
            error = event.get("error")
            code = error.get("code") if isinstance(error, dict) else None
            # The code only: an error's message can quote what the companion sent (a tool's output).
            logger.warning("sideband error event", extra={"call_id": self._call_id, "code": code})
        return None

    def due(self) -> Reason | None:
        """A reason to end the call that comes from waiting, not from an event (none for Realtime:
        the goodbye is a `response.done`)."""
        return None

    def _metered(
        self, meter: Callable[[Mapping[str, Any]], str | None], event: Mapping[str, Any]
    ) -> str | None:
        return metered(self._call_id, meter, event)


def metered(call_id: str, meter: Callable[[Any], str | None], value: Any) -> str | None:
    """A metering write that failed (DynamoDB throttled) loses that event's exact cost, not the
    call's cap: it is counted and logged, and the call-minutes charged at the start still stand."""
    try:
        return meter(value)
    except Exception as error:
        record_companion_failure()
        logger.error(
            "metering failed",
            extra={
                "call_id": call_id,
                "error_type": type(error).__name__,
                "reason": getattr(error, "reason", None),
            },
        )
        return None
