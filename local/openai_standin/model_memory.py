"""What the stand-in's model remembers of a conversation beyond its items: what each spoken turn
said (transcribed or not), how long each audio item lasts, and what the last response read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .usage import Output, Segment, cached_prefix, input_segments, response_usage


class ModelMemory:
    def __init__(self) -> None:
        self._audio_ms: dict[str, float] = {}
        self._heard: dict[str, str] = {}
        self._previous_input: list[Segment] = []

    def heard_speech(self, item_id: str, transcript: str, duration_ms: float) -> None:
        self._heard[item_id] = transcript
        self._audio_ms[item_id] = float(max(duration_ms, 0))

    def spoke(self, item_id: str, duration_ms: float) -> None:
        self._audio_ms[item_id] = duration_ms

    def truncated(self, item_id: str, audio_end_ms: float) -> None:
        """The audio after `audio_end_ms` is no longer in the context."""
        if item_id in self._audio_ms:
            self._audio_ms[item_id] = min(self._audio_ms[item_id], audio_end_ms)

    def heard_text(self, item: Mapping[str, Any]) -> str | None:
        """What a user item said: its text, or its spoken turn's transcript."""
        for part in reversed(item.get("content") or []):
            if part.get("type") == "input_text" and part.get("text"):
                return str(part["text"])
            if part.get("type") == "input_audio":
                return part.get("transcript") or self._heard.get(str(item.get("id")))
        return None

    def usage_for(
        self, session: Mapping[str, Any], context: list[dict[str, Any]]
    ) -> Callable[[Output], dict[str, Any]]:
        """A response's usage: its input is its context as it stands now, cached what the last one read."""
        tools = session.get("tools") or []
        current = input_segments(
            session.get("instructions") or "",
            tools,
            context,
            lambda item_id: self._audio_ms.get(item_id, 0.0),
        )
        cached = cached_prefix(self._previous_input, current)
        self._previous_input = current
        return lambda output: response_usage(current, cached, output)
