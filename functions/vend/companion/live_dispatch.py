"""One GPT-Live server event from the sideband → metering, a tool call, or the session's end.

    session.usage.updated        cumulative voice usage → metering (a budget reached: "spend_cap")
    session.closed               final usage → metering; its reason ends the call as GPT-Live saw it
    response.event               the Responses backend's stream: a `response.output_item.done` with a
                                 function_call item → the tool; a terminal response (completed,
                                 incomplete, failed) → its token usage metered
    session.output_transcript.delta   after end_call was answered: the goodbye being spoken
    error                        logged by code

GPT-Live has no "response done" for the voice: the goodbye after `end_call` is over once the
assistant's transcript has been quiet for GOODBYE_SILENCE_SECONDS after speaking (the SDK's
TranscriptGrouper closes an assistant segment after 2 s of inactivity), or at the 15 s grace the
session loop keeps. Everything else (transcripts, reflected audio, standby) is ignored unparsed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from vend.companion.dispatch import metered
from vend.companion.finalise import OBSERVED, Reason
from vend.companion.live_metering import LiveMeter
from vend.companion.tool_answers import ToolAnswers
from vend.observability import logger

GOODBYE_SILENCE_SECONDS = 2.0
_TERMINAL_RESPONSES = frozenset({"response.completed", "response.incomplete", "response.failed"})
# session.closed's reasons (close_requested, expired, content, remote_hangup, connection_lost).
_CLOSED: dict[str, Reason] = {reason: reason for reason in OBSERVED if reason != "call_over"}


class LiveDispatch:
    def __init__(
        self,
        call_id: str,
        meter: LiveMeter,
        tools: ToolAnswers,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._call_id = call_id
        self._meter = meter
        self._tools = tools
        self._clock = clock
        self._spoken_at: float | None = None  # the assistant's last words after end_call was answered

    def handle(self, event: Mapping[str, Any]) -> Reason | None:
        """Act on one event; the reason to end the call now, if it gives one."""
        kind = event.get("type")
        if kind == "response.event":
            return self._backend(event)
        if kind == "session.usage.updated":
            return "spend_cap" if metered(self._call_id, self._meter.usage, event.get("usage")) else None
        if kind == "session.output_transcript.delta":
            if self._tools.goodbye_requested_at is not None:
                self._spoken_at = self._clock()
        elif kind == "session.closed":
            metered(self._call_id, self._meter.final_usage, event.get("usage"))
            reason = event.get("reason")
            # The session is over whatever the budgets say: its reason is what the page is told.
            return _CLOSED.get(reason, "call_over") if isinstance(reason, str) else "call_over"
        elif kind == "error":
            error = event.get("error")
            code = error.get("code") if isinstance(error, dict) else None
            logger.warning("sideband error event", extra={"call_id": self._call_id, "code": code})
        return None

    def due(self) -> Reason | None:
        """The goodbye after end_call has been said: the assistant spoke, then fell quiet."""
        requested, spoken = self._tools.goodbye_requested_at, self._spoken_at
        if requested is None or spoken is None or spoken < requested:
            return None
        return "assistant" if self._clock() - spoken >= GOODBYE_SILENCE_SECONDS else None

    def _backend(self, event: Mapping[str, Any]) -> Reason | None:
        nested = event.get("event")
        if not isinstance(nested, dict):
            return None
        kind = nested.get("type")
        if kind == "response.output_item.done":
            item = nested.get("item")
            if isinstance(item, dict):
                delegation = event.get("delegation_id")
                self._tools.item_done(delegation if isinstance(delegation, str) else "", item)
        elif kind in _TERMINAL_RESPONSES:
            response = nested.get("response")
            if isinstance(response, dict) and metered(
                self._call_id, self._meter.response_completed, response
            ):
                return "spend_cap"
        return None
