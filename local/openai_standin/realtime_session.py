"""The Realtime protocol of one call: client events in, GA server events out.

Knows nothing about WebRTC: it gets an `emit` function, the voice track to make speak, and
the microphone's speech start/stop notifications.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import logging
from collections.abc import Callable
from typing import Any

from .background import spawn
from .client_events import ClientEventError, parse_client_event
from .conversation import Conversation, as_realtime_item
from .function_call_ledger import FunctionCallLedger
from .function_call_response import FunctionCallRunner
from .ids import new_id
from .mic import Speech
from .model_memory import ModelMemory
from .responder import Emit, Response, ResponseRequest, ResponseRunner
from .session_config import apply_session_request
from .tool_calls import CallTool, decide
from .usage import transcription_usage
from .voice import VoiceTrack

logger = logging.getLogger(__name__)
# After a turn's reply (or a turn without one) the microphone must not start another turn
# for this long, so the reply's echo or Chromium's fake-device beeps do not chain turns.
TURN_GAP_SECONDS = 2.0
# A manual commit needs at least this much audio, as OpenAI's input buffer does.
MIN_COMMIT_MS = 100
_CANNED_TRANSCRIPTS = (
    "Hello, can you hear me?",
    "What's the weather like today?",
    "Tell me something interesting.",
    "Thanks, that was helpful.",
)


def reply_to(user_text: str | None) -> str:
    if user_text is None:
        return "Hello! This is the local Realtime stand-in. How can I help you today?"
    return f'You said: "{user_text}". This is the local Realtime stand-in answering you.'


class RealtimeSession:
    def __init__(
        self,
        session: dict[str, Any],
        emit: Emit,
        voice: VoiceTrack,
        mic_turns: Callable[[], bool],
        next_transcript: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.session = session
        self._mic_turns = mic_turns
        self._next_transcript = next_transcript
        self.conversation = Conversation()
        self.client_events: list[dict[str, Any]] = []
        self.function_calls = FunctionCallLedger()
        self._emit = emit
        # Where the error an invalid client event causes goes: the connection that sent it.
        self._reply: Emit | None = None
        self._memory = ModelMemory()
        self._voice = voice
        self._loop = asyncio.get_running_loop()
        self._response: Response | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_response_id: str | None = None
        self._assistant_spoke = False
        self._quiet_until = 0.0
        self._speech_item_id: str | None = None
        self._buffer_start_ms = 0
        self._audio_clock: Callable[[], int] = lambda: 0
        self._transcripts = itertools.cycle(_CANNED_TRANSCRIPTS)
        self._handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "session.update": self._session_update,
            "input_audio_buffer.append": self._ignore_append,
            "input_audio_buffer.commit": self._commit,
            "input_audio_buffer.clear": self._clear_input,
            "conversation.item.create": self._item_create,
            "conversation.item.retrieve": self._item_retrieve,
            "conversation.item.delete": self._item_delete,
            "conversation.item.truncate": self._item_truncate,
            "response.create": self._response_create,
            "response.cancel": self._response_cancel,
            "output_audio_buffer.clear": self._output_clear,
        }
        self._discard_speech: Callable[[], bool] = lambda: False
        self._source = "data_channel"

    # -- wiring -----------------------------------------------------------------------------

    def attach_microphone(self, audio_clock: Callable[[], int], discard_speech: Callable[[], bool]) -> None:
        self._audio_clock = audio_clock
        self._discard_speech = discard_speech

    def opened(self) -> None:
        self._emit({"type": "session.created", "session": copy.deepcopy(self.session)})

    def close(self) -> None:
        if self._response is not None and self._response.task is not None:
            self._response.task.cancel()  # cancel_reason None: the runner emits nothing more

    def error(self, message: str, code: str, param: str | None = None, event_id: str | None = None) -> None:
        (self._reply or self._emit)(
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "code": code,
                    "message": message,
                    "param": param,
                    "event_id": event_id,
                },
            }
        )

    # -- client events ------------------------------------------------------------------------

    def receive(
        self,
        text: str,
        reply: Emit | None = None,
        source: str = "data_channel",
        log: list[dict[str, Any]] | None = None,
    ) -> None:
        """Handle one client event; errors it causes go to `reply` (default: everyone)."""
        self._reply, self._source = reply, source
        try:
            self._receive(text, self.client_events if log is None else log)
        finally:
            self._reply, self._source = None, "data_channel"

    def _receive(self, text: str, log: list[dict[str, Any]]) -> None:
        try:
            event = parse_client_event(text)
        except ClientEventError as exc:
            log.append({"invalid": True, "raw": text[:2000], "error": exc.code})
            self.error(exc.message, exc.code, exc.param, exc.event_id)
            return
        log.append(event)
        try:
            self._handlers[event["type"]](event)
        except Exception:
            # A stand-in bug must not kill the data channel; report it as OpenAI reports its own.
            logger.exception("handling %s failed", event["type"])
            (self._reply or self._emit)(
                {
                    "type": "error",
                    "error": {
                        "type": "server_error",
                        "code": "server_error",
                        "message": "The server had an error while processing your request.",
                        "param": None,
                        "event_id": event.get("event_id"),
                    },
                }
            )

    def _session_update(self, event: dict[str, Any]) -> None:
        request = event["session"]
        new_model = request.get("model")
        if new_model is not None and new_model != self.session["model"]:
            # OpenAI documents the model as fixed once the session starts ("update any field except
            # for voice and model") but not the error it sends; like the voice's, it refuses the
            # whole update. The same model again is no change and passes (agents-realtime sends it).
            self.error(
                f"Cannot update a session's model: it is {self.session['model']!r} for the whole session. "
                "Start a new session for another model.",
                "invalid_value",
                "session.model",
                event.get("event_id"),
            )
            return
        new_voice = ((request.get("audio") or {}).get("output") or {}).get("voice")
        if self._assistant_spoke and new_voice is not None and new_voice != self._voice_setting():
            self.error(
                "Cannot update a conversation's voice if assistant audio is present.",
                "cannot_update_voice",
                "session.audio.output.voice",
                event.get("event_id"),
            )
            return
        self.session = apply_session_request(self.session, request)
        self._emit({"type": "session.updated", "session": copy.deepcopy(self.session)})

    def _ignore_append(self, event: dict[str, Any]) -> None:
        """On WebRTC the microphone arrives on the media track; appended base64 adds nothing here."""

    def _commit(self, event: dict[str, Any]) -> None:
        if self._audio_clock() - self._buffer_start_ms < MIN_COMMIT_MS:
            self.error(
                "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio.",
                "input_audio_buffer_commit_empty",
                None,
                event.get("event_id"),
            )
            return
        self._discard_speech()
        duration = self._audio_clock() - self._buffer_start_ms
        self._commit_user_audio(self._speech_item_id or new_id("item_", 11), duration)
        self._speech_item_id = None

    def _clear_input(self, event: dict[str, Any]) -> None:
        self._discard_speech()
        self._speech_item_id = None
        self._buffer_start_ms = self._audio_clock()
        self._emit({"type": "input_audio_buffer.cleared"})

    def _item_create(self, event: dict[str, Any]) -> None:
        item = as_realtime_item(event["item"])
        previous = event.get("previous_item_id")
        try:
            if previous == "root":  # OpenAI's word for "at the start of the conversation"
                self.conversation.add_first(item)
                previous_id = None
            else:
                previous_id = self.conversation.add(item, previous)
        except KeyError:
            self.error(
                f"Item with id '{previous}' not found.",
                "item_not_found",
                "previous_item_id",
                event.get("event_id"),
            )
            return
        if item.get("type") == "function_call_output":
            self.function_calls.output(str(item.get("call_id")), self._source)
        self._emit({"type": "conversation.item.added", "previous_item_id": previous_id, "item": item})
        self._emit({"type": "conversation.item.done", "previous_item_id": previous_id, "item": item})

    def _find_item(self, event: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return self.conversation.get(event["item_id"])
        except KeyError:
            self.error(
                f"Item with item_id '{event['item_id']}' not found.",
                "item_not_found",
                "item_id",
                event.get("event_id"),
            )
            return None

    def _item_retrieve(self, event: dict[str, Any]) -> None:
        if (item := self._find_item(event)) is not None:
            self._emit({"type": "conversation.item.retrieved", "item": copy.deepcopy(item)})

    def _item_delete(self, event: dict[str, Any]) -> None:
        if self._find_item(event) is not None:
            self.conversation.delete(event["item_id"])
            self._emit({"type": "conversation.item.deleted", "item_id": event["item_id"]})

    def _item_truncate(self, event: dict[str, Any]) -> None:
        if self._find_item(event) is not None:
            self._memory.truncated(event["item_id"], event["audio_end_ms"])
            self._emit(
                {
                    "type": "conversation.item.truncated",
                    "item_id": event["item_id"],
                    "content_index": event["content_index"],
                    "audio_end_ms": event["audio_end_ms"],
                }
            )

    def _response_create(self, event: dict[str, Any]) -> None:
        if self._response is not None:
            self.error(
                f"Conversation already has an active response in progress: {self._response.id}. "
                "Wait until the response is finished before creating a new one.",
                "conversation_already_has_active_response",
                None,
                event.get("event_id"),
            )
            return
        options = event.get("response") or {}
        out_of_band = options.get("conversation") == "none"
        context = [i for i in options.get("input", []) if i.get("type") != "item_reference"]
        if not context:
            context = self.conversation.items()
        self.respond(context, options, out_of_band=out_of_band)

    def _response_cancel(self, event: dict[str, Any]) -> None:
        wanted = event.get("response_id")
        if self._response is None or (wanted is not None and wanted != self._response.id):
            self.error(
                "Cancellation failed: no active response found",
                "response_cancel_not_active",
                None,
                event.get("event_id"),
            )
            return
        self._response.cancel("client_cancelled")

    def _output_clear(self, event: dict[str, Any]) -> None:
        if self._response is not None and self._response.audio_started:
            self._response.buffer_cleared = True
            self._response.cancel("client_cancelled")
        elif self._last_response_id is not None:
            self._emit({"type": "output_audio_buffer.cleared", "response_id": self._last_response_id})

    # -- responses ----------------------------------------------------------------------------

    def _voice_setting(self) -> Any:
        return self.session["audio"]["output"]["voice"]

    def respond(
        self, context: list[dict[str, Any]], options: dict[str, Any], *, out_of_band: bool = False
    ) -> None:
        """Start the model's next response: a function call or speech, by tool_calls' rule."""
        output = ((options.get("audio") or {}).get("output")) or {}
        tools = options.get("tools", self.session.get("tools") or [])
        choice = options.get("tool_choice", self.session.get("tool_choice", "auto"))
        action = decide(context, tools, choice, self._memory.heard_text, reply_to)
        request = ResponseRequest(
            reply_text=action.text if not isinstance(action, CallTool) else "",
            output_modalities=list(options.get("output_modalities") or self.session["output_modalities"]),
            voice=output.get("voice", self._voice_setting()),
            audio_format=copy.deepcopy(output.get("format", self.session["audio"]["output"]["format"])),
            max_output_tokens=options.get("max_output_tokens", self.session["max_output_tokens"]),
            conversation=None if out_of_band else self.conversation,
            metadata=options.get("metadata"),
            usage=self._memory.usage_for(self.session, context),
        )
        response = Response(request)
        self._response = response
        self._last_response_id = response.id
        runner: ResponseRunner | FunctionCallRunner
        if isinstance(action, CallTool):
            runner = FunctionCallRunner(response, self._emit, action.name, action.arguments)
            self.function_calls.called(runner.call_id, action.name, action.arguments, response.id)
        else:
            runner = ResponseRunner(response, self._emit, self._voice)
        response.task = spawn(self._run(runner), self._tasks)

    async def _run(self, runner: ResponseRunner | FunctionCallRunner) -> None:
        try:
            await runner.run()
        finally:
            if runner.response.audio_started:
                self._assistant_spoke = True
                self._memory.spoke(runner.response.item_id, runner.response.audio_ms)
            self._response = None
            self._quiet_until = self._loop.time() + TURN_GAP_SECONDS

    # -- microphone turns (server VAD) -----------------------------------------------------------

    def _turn_detection(self) -> dict[str, Any] | None:
        detection: dict[str, Any] | None = self.session["audio"]["input"]["turn_detection"]
        return detection

    def may_start_speech(self) -> bool:
        return (
            self._mic_turns()
            and self._turn_detection() is not None
            and self._response is None
            and self._loop.time() >= self._quiet_until
        )

    def speech_started(self, audio_start_ms: int) -> None:
        self._speech_item_id = new_id("item_", 11)
        self._emit(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": audio_start_ms,
                "item_id": self._speech_item_id,
            }
        )

    def speech_stopped(self, speech: Speech) -> None:
        item_id = self._speech_item_id or new_id("item_", 11)
        self._speech_item_id = None
        self._emit(
            {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": speech.end_ms, "item_id": item_id}
        )
        self._commit_user_audio(item_id, speech.end_ms - speech.start_ms)
        detection = self._turn_detection() or {}
        if detection.get("create_response", True):
            self.respond(self.conversation.items(), {})
        else:
            self._quiet_until = self._loop.time() + TURN_GAP_SECONDS

    def _commit_user_audio(self, item_id: str, duration_ms: float) -> str:
        """The committed buffer becomes a user audio item; returns its transcript.

        The transcript is the control option `mic_transcript` when set (once), else a canned one.
        """
        self._buffer_start_ms = self._audio_clock()
        transcript = self._next_transcript() or next(self._transcripts)
        self._memory.heard_speech(item_id, transcript, duration_ms)
        previous = self.conversation.last_id()
        self._emit({"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": previous})
        transcription = self.session["audio"]["input"]["transcription"]
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self.conversation.add(copy.deepcopy(item))
        self._emit({"type": "conversation.item.added", "previous_item_id": previous, "item": item})
        self._emit({"type": "conversation.item.done", "previous_item_id": previous, "item": item})
        if transcription is not None:
            # OpenAI transcribes asynchronously and only when `audio.input.transcription` is set.
            self.conversation.replace(
                {**item, "content": [{"type": "input_audio", "transcript": transcript}]}
            )
            self._emit(
                {
                    "type": "conversation.item.input_audio_transcription.completed",
                    "item_id": item_id,
                    "content_index": 0,
                    "transcript": transcript,
                    "usage": transcription_usage(transcription, duration_ms, transcript),
                }
            )
        return transcript
