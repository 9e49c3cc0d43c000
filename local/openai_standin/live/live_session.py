"""The GPT-Live protocol of one session: client events in, Live server events out.

Knows nothing about WebRTC: it gets `emit` (to the channel, as filtered, and every sideband), a
`reply` per client event for the errors that go back to its sender only, the voice track, and
the microphone's speech start/stop notifications.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import Callable
from typing import Any

from ..background import spawn
from ..mic import Speech
from ..options import StandinOptions, take_mic_transcript
from ..voice import VoiceTrack
from .client_events import LiveClientEventError, parse_live_client_event
from .create_request import unsupported_tool, unsupported_tool_message
from .session_resource import apply_update
from .speaker import speak
from .transcripts import timed_fragments

Emit = Callable[[dict[str, Any]], None]
# After the assistant's reply the microphone may not start a turn for this long, so the reply's
# echo or Chromium's fake-device beeps do not chain turns (as in the Realtime stand-in).
TURN_GAP_SECONDS = 2.0
CANNED_TRANSCRIPTS = (
    "Hello, can you hear me?",
    "What's the weather like today?",
    "Tell me something interesting.",
    "Thanks, that was helpful.",
)
# Sideband- or SIP-only client events, refused on the page's data channel.
_SIDEBAND_ONLY = frozenset({"session.output_audio.fixture.play", "transport.dtmf.send"})


def reply_to(user_text: str) -> str:
    return f'You said: "{user_text}". This is the local GPT-Live stand-in answering you.'


def error_event(
    message: str, code: str, param: str | None = None, client_event_id: str | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "error",
        "error": {"type": "invalid_request_error", "code": code, "message": message, "param": param},
    }
    if client_event_id is not None:
        event["error"]["client_event_id"] = client_event_id
        event["client_event_id"] = client_event_id
    return event


class LiveSession:
    def __init__(
        self,
        resource: dict[str, Any],
        options: StandinOptions,
        *,
        emit: Emit,
        voice: VoiceTrack,
        timeline_ms: Callable[[], int],
        close: Callable[[str, str | None, str], None],
    ) -> None:
        self.resource = resource
        self.muted = False
        self.speaking = False
        self.user_speaking = False
        self.closed = False
        # Characters of transcript so far (the context window's estimate).
        self.text_chars = 0
        self._options = options
        self._emit = emit
        self._voice = voice
        self._timeline_ms = timeline_ms
        self._close = close
        self._loop = asyncio.get_running_loop()
        self._quiet_until = 0.0
        self._transcripts = itertools.cycle(CANNED_TRANSCRIPTS)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._discard_speech: Callable[[], bool] = lambda: False
        self._speech_lock = asyncio.Lock()  # one utterance at a time
        # Standby and reflection listen here: user speech began / ended; the assistant is about to
        # speak / has spoken.
        self.speech_listeners: list[Callable[[], None]] = []
        self.heard_listeners: list[Callable[[], None]] = []
        self.speaking_listeners: list[Callable[[], None]] = []
        self.spoke_listeners: list[Callable[[], None]] = []
        # Delegation takes a user turn when it asks for a tool: True if it did.
        self.delegate: Callable[[str], bool] = lambda text: False
        self._handlers: dict[str, Callable[[dict[str, Any], Emit, str], None]] = {
            "session.update": self._session_update,
            "session.input_audio.mute": self._mute,
            "session.input_audio.unmute": self._unmute,
            "session.instructions.append": self._append,
            "session.thinking.append": self._append,
            "session.commentary.append": self._append,
            "session.close": self._session_close,
        }

    # -- wiring -------------------------------------------------------------------------------

    def attach_microphone(self, discard_speech: Callable[[], bool]) -> None:
        self._discard_speech = discard_speech

    def stop(self) -> None:
        self.closed = True
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        self._voice.speaking = False

    # -- client events --------------------------------------------------------------------------

    def receive(self, text: str, reply: Emit, source: str) -> dict[str, Any] | None:
        """Apply one client event; its errors go to `reply` only. Returns the event if valid."""
        try:
            event = parse_live_client_event(text)
        except LiveClientEventError as exc:
            reply(error_event(exc.message, exc.code, exc.param, exc.event_id))
            return None
        event_type = event["type"]
        handler = self._handlers.get(event_type)
        if source == "data_channel" and event_type in _SIDEBAND_ONLY:
            reply(
                error_event(
                    f"'{event_type}' is not available on a WebRTC data channel.",
                    "invalid_value",
                    "type",
                    event.get("event_id"),
                )
            )
        elif handler is None:
            self.unsupported(event, reply)
        else:
            handler(event, reply, source)
        return event

    def unsupported(self, event: dict[str, Any], reply: Emit) -> None:
        reply(
            error_event(
                f"'{event['type']}' is not emulated by the local GPT-Live stand-in.",
                "unsupported_event",
                "type",
                event.get("event_id"),
            )
        )

    def register(self, event_type: str, handler: Callable[[dict[str, Any], Emit, str], None]) -> None:
        self._handlers[event_type] = handler

    def _session_update(self, event: dict[str, Any], reply: Emit, source: str) -> None:
        update = event["session"]
        delegation = update.get("delegation")
        current = self.resource["delegation"]["type"]
        if delegation is not None and delegation["type"] != current:
            reply(
                error_event(
                    f"The delegation type cannot change: it is '{current}' for the whole session.",
                    "immutable_field_update",
                    "session.delegation.type",
                    event.get("event_id"),
                )
            )
            return
        responses = (delegation or {}).get("responses") or {}
        found = unsupported_tool(responses.get("tools"))
        if found is not None:
            index, kind = found
            reply(
                error_event(
                    unsupported_tool_message(kind),
                    "invalid_value",
                    f"session.delegation.responses.tools[{index}].type",
                    event.get("event_id"),
                )
            )
            return
        self.resource = apply_update(self.resource, update)
        self._emit(self._acked({"type": "session.updated", "session": copy.deepcopy(self.resource)}, event))

    @staticmethod
    def _acked(ack: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        if event.get("event_id") is not None:
            ack["client_event_id"] = event["event_id"]
        return ack

    def _mute(self, event: dict[str, Any], reply: Emit, source: str) -> None:
        self.muted = True
        self._discard_speech()  # muted input is silence: speech in progress ends unheard
        self.user_speaking = False
        self._emit(self._acked({"type": "session.input_audio.muted"}, event))

    def _unmute(self, event: dict[str, Any], reply: Emit, source: str) -> None:
        self.muted = False
        self._emit(self._acked({"type": "session.input_audio.unmuted"}, event))

    def _append(self, event: dict[str, Any], reply: Emit, source: str) -> None:
        if event.get("delegation_id") is not None:
            reply(
                error_event(
                    f"Unknown client delegation '{event['delegation_id']}'.",
                    "invalid_value",
                    "delegation_id",
                    event.get("event_id"),
                )
            )
            return
        now = self._timeline_ms()
        kind = event["type"].removesuffix(".append")
        self._emit(self._acked({"type": f"{kind}.appended", "start_ms": now, "end_ms": now}, event))

    def _session_close(self, event: dict[str, Any], reply: Emit, source: str) -> None:
        self._close("close_requested", event.get("event_id"), "page" if source == "data_channel" else source)

    # -- microphone turns -------------------------------------------------------------------------

    def may_start_speech(self) -> bool:
        return (
            self._options.mic_turns
            and not self.muted
            and not self.speaking
            and not self.closed
            and self._loop.time() >= self._quiet_until
        )

    def speech_started(self, audio_start_ms: int) -> None:
        self.user_speaking = True
        for listener in self.speech_listeners:
            listener()

    def speech_stopped(self, speech: Speech) -> None:
        self.user_speaking = False
        for listener in self.heard_listeners:
            listener()
        end_ms = self._timeline_ms()
        start_ms = max(0, end_ms - (speech.end_ms - speech.start_ms))
        transcript = take_mic_transcript(self._options) or next(self._transcripts)
        self.text_chars += len(transcript)
        for delta, start, end in timed_fragments(transcript, start_ms, end_ms):
            self._emit(
                {"type": "session.input_transcript.delta", "delta": delta, "start_ms": start, "end_ms": end}
            )
        self.user_said(transcript)

    def user_said(self, text: str) -> None:
        """What the voice model does with a user turn (delegation may take it over)."""
        if not self.delegate(text):
            self.say(reply_to(text))

    # -- speaking -----------------------------------------------------------------------------------

    def say(self, text: str) -> asyncio.Task[Any]:
        return spawn(self._say(text), self._tasks)

    async def _say(self, text: str) -> None:
        async with self._speech_lock:
            if self.closed:
                return
            self.speaking = True
            self.text_chars += len(text)
            for listener in self.speaking_listeners:
                listener()
            try:
                await speak(text, self._voice, self._emit, self._timeline_ms)
            finally:
                self.speaking = False
                self._quiet_until = self._loop.time() + TURN_GAP_SECONDS
                for listener in self.spoke_listeners:
                    listener()
