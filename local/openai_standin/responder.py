"""One model response, event by event, paced like speech.

The reply's transcript deltas are spread over the time the voice track is "speaking", so
text and audio arrive together as they do from OpenAI over WebRTC (audio on the media track,
no `response.output_audio.delta` on the data channel).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .conversation import Conversation
from .ids import new_id
from .usage import Output, assistant_audio_tokens, text_tokens
from .voice import VoiceTrack

Emit = Callable[[dict[str, Any]], None]
# Seconds between transcript deltas; each delta is a couple of words of audio.
DELTA_INTERVAL = 0.16
WORDS_PER_DELTA = 2


@dataclass
class ResponseRequest:
    reply_text: str
    output_modalities: list[str]
    voice: Any
    audio_format: dict[str, Any]
    max_output_tokens: int | str
    conversation: Conversation | None  # None: out-of-band (`conversation: "none"`)
    metadata: dict[str, Any] | None = None
    # The response's usage once its output is known (input and cached tokens are fixed at its start).
    usage: Callable[[Output], dict[str, Any]] = lambda output: {}


@dataclass
class Response:
    """A running response; `cancel()` ends it with `status: cancelled`."""

    request: ResponseRequest
    id: str = field(default_factory=lambda: new_id("resp_", 11))
    task: asyncio.Task[None] | None = None
    cancel_reason: str | None = None
    audio_started: bool = False
    # output_audio_buffer.clear cut the audio: report `cleared` rather than `stopped`.
    buffer_cleared: bool = False
    # How long the assistant spoke (audio responses): its audio tokens now, its input tokens later.
    audio_ms: float = 0.0
    item_id: str = field(default_factory=lambda: new_id("item_", 11))

    def cancel(self, reason: str) -> None:
        if self.task is not None and not self.task.done():
            self.cancel_reason = reason
            self.task.cancel()


def response_object(
    response: Response,
    status: str,
    status_details: dict[str, Any] | None,
    output: list[dict[str, Any]],
    usage: Any,
) -> dict[str, Any]:
    """The `response` of `response.created` / `response.done`."""
    request = response.request
    conversation = request.conversation
    return {
        "id": response.id,
        "object": "realtime.response",
        "status": status,
        "status_details": status_details if status != "in_progress" else None,
        "output": output,
        "conversation_id": conversation.id if conversation else None,
        "output_modalities": request.output_modalities,
        "max_output_tokens": request.max_output_tokens,
        "audio": {"output": {"format": request.audio_format, "voice": request.voice}},
        "usage": usage,
        "metadata": request.metadata,
    }


class ResponseRunner:
    def __init__(self, response: Response, emit: Emit, voice: VoiceTrack) -> None:
        self.response = response
        self._emit = emit
        self._voice = voice
        request = response.request
        self._audio = request.output_modalities == ["audio"]
        self._item_id = response.item_id
        self._words = request.reply_text.split()
        self._status = "completed"
        self._status_details: dict[str, Any] | None = None
        limit = request.max_output_tokens
        if isinstance(limit, int) and len(self._words) > limit:
            self._words = self._words[:limit]
            self._status = "incomplete"
            self._status_details = {"type": "incomplete", "reason": "max_output_tokens"}
        self._spoken: list[str] = []

    def _response_object(self, status: str, output: list[dict[str, Any]], usage: Any) -> dict[str, Any]:
        return response_object(self.response, status, self._status_details, output, usage)

    def _text(self) -> str:
        return " ".join(self._spoken)

    def _part(self) -> dict[str, Any]:
        return (
            {"type": "audio", "transcript": self._text()}
            if self._audio
            else {"type": "text", "text": self._text()}
        )

    def _item(self, status: str) -> dict[str, Any]:
        content = (
            {"type": "output_audio", "transcript": self._text()}
            if self._audio
            else {"type": "output_text", "text": self._text()}
        )
        return {
            "id": self._item_id,
            "object": "realtime.item",
            "type": "message",
            "role": "assistant",
            "status": status,
            "content": [content] if status != "in_progress" else [],
        }

    def _ids(self) -> dict[str, Any]:
        return {
            "response_id": self.response.id,
            "item_id": self._item_id,
            "output_index": 0,
            "content_index": 0,
        }

    async def run(self) -> None:
        emit, request = self._emit, self.response.request
        emit({"type": "response.created", "response": self._response_object("in_progress", [], None)})
        emit(
            {
                "type": "response.output_item.added",
                "response_id": self.response.id,
                "output_index": 0,
                "item": self._item("in_progress"),
            }
        )
        if request.conversation is not None:
            previous = request.conversation.add(self._item("in_progress"))
            emit(
                {
                    "type": "conversation.item.added",
                    "previous_item_id": previous,
                    "item": self._item("in_progress"),
                }
            )
        emit({"type": "response.content_part.added", **self._ids(), "part": {**self._part()}})
        try:
            await self._stream()
        except asyncio.CancelledError:
            if self.response.cancel_reason is None:
                raise  # the call is closing: nobody is listening any more
            self._status = "cancelled"
            self._status_details = {"type": "cancelled", "reason": self.response.cancel_reason}
        finally:
            self._voice.speaking = False
        self._finish()

    async def _stream(self) -> None:
        if self._audio:
            self._voice.speaking = True
            self.response.audio_started = True
            self._emit({"type": "output_audio_buffer.started", "response_id": self.response.id})
        delta_type = "response.output_audio_transcript.delta" if self._audio else "response.output_text.delta"
        for start in range(0, len(self._words), WORDS_PER_DELTA):
            chunk = " ".join(self._words[start : start + WORDS_PER_DELTA])
            delta = chunk if start == 0 else f" {chunk}"
            self._spoken.append(chunk)
            self._emit({"type": delta_type, **self._ids(), "delta": delta})
            if self._audio:
                # Each delta is spoken for DELTA_INTERVAL; a cut-off delta still counts whole.
                self.response.audio_ms += DELTA_INTERVAL * 1000
            await asyncio.sleep(DELTA_INTERVAL)

    def _finish(self) -> None:
        emit, request = self._emit, self.response.request
        ids = self._ids()
        item_status = "completed" if self._status == "completed" else "incomplete"
        if self._audio:
            emit({"type": "response.output_audio.done", **ids})
            emit({"type": "response.output_audio_transcript.done", **ids, "transcript": self._text()})
        else:
            emit({"type": "response.output_text.done", **ids, "text": self._text()})
        emit({"type": "response.content_part.done", **ids, "part": self._part()})
        item = self._item(item_status)
        emit(
            {
                "type": "response.output_item.done",
                "response_id": self.response.id,
                "output_index": 0,
                "item": item,
            }
        )
        if request.conversation is not None:
            request.conversation.replace(copy.deepcopy(item))
            emit({"type": "conversation.item.done", "item": item})
        usage = request.usage(
            Output(text_tokens(self._text()), assistant_audio_tokens(self.response.audio_ms))
        )
        emit({"type": "response.done", "response": self._response_object(self._status, [item], usage)})
        if self._audio:
            ending = "cleared" if self.response.buffer_cleared else "stopped"
            emit({"type": f"output_audio_buffer.{ending}", "response_id": self.response.id})
