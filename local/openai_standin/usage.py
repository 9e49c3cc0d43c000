"""Token counts as OpenAI bills them: `response.done.response.usage` and transcription usage.

The stand-in's counting rules (documented so that the companion's metering can be checked exactly):
- text: one token per whitespace-separated word (instructions, the tools' JSON, typed and
  transcribed text, function names, arguments and outputs);
- user audio: one token per 100 ms (rounded up), assistant audio: one per 50 ms (OpenAI's rates);
- a response reads its whole context (instructions, tools, every item) as input, and the part of it
  that the previous response of the session read too, unchanged and in the same order, is cached:
  `cached_tokens` is always a subset of `input_tokens`, per modality. (OpenAI caches only from 1,024
  tokens, in steps; the stand-in caches any shared prefix so short test calls show it.)
- input transcription is billed apart, on the transcription event: `{type: "tokens"}` for the
  gpt-4o*-transcribe models, `{type: "duration", seconds}` for whisper-1.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

USER_AUDIO_MS_PER_TOKEN = 100
ASSISTANT_AUDIO_MS_PER_TOKEN = 50


def text_tokens(text: str | None) -> int:
    return len(text.split()) if text else 0


def user_audio_tokens(milliseconds: float) -> int:
    return math.ceil(max(milliseconds, 0) / USER_AUDIO_MS_PER_TOKEN)


def assistant_audio_tokens(milliseconds: float) -> int:
    return math.ceil(max(milliseconds, 0) / ASSISTANT_AUDIO_MS_PER_TOKEN)


@dataclass(frozen=True)
class Segment:
    """One piece of a response's input: a key that changes whenever its content does, and its tokens."""

    key: str
    text: int
    audio: int


def _item_segment(item: dict[str, Any], audio_ms: Callable[[str], float]) -> Segment:
    text = audio = 0
    kind = item.get("type")
    if kind == "message":
        assistant = item.get("role") == "assistant"
        for part in item.get("content") or []:
            part_type = part.get("type")
            if part_type in ("input_audio", "output_audio"):
                duration = audio_ms(str(item.get("id")))
                audio += assistant_audio_tokens(duration) if assistant else user_audio_tokens(duration)
            else:
                text += text_tokens(part.get("text") or part.get("transcript"))
    elif kind == "function_call":
        text = text_tokens(item.get("name")) + text_tokens(item.get("arguments"))
    elif kind == "function_call_output":
        text = text_tokens(item.get("output"))
    key = json.dumps([item.get("id"), text, audio])
    return Segment(key, text, audio)


def input_segments(
    instructions: str, tools: Sequence[Any], items: Sequence[dict[str, Any]], audio_ms: Callable[[str], float]
) -> list[Segment]:
    preamble = json.dumps([instructions, list(tools)], sort_keys=True)
    tool_tokens = text_tokens(json.dumps(list(tools))) if tools else 0
    first = Segment(preamble, text_tokens(instructions) + tool_tokens, 0)
    return [first, *(_item_segment(item, audio_ms) for item in items)]


def cached_prefix(previous: Sequence[Segment], current: Sequence[Segment]) -> list[Segment]:
    shared: list[Segment] = []
    for before, now in zip(previous, current, strict=False):
        if before != now:
            break
        shared.append(now)
    return shared


@dataclass(frozen=True)
class Output:
    text: int
    audio: int


def response_usage(current: Sequence[Segment], cached: Sequence[Segment], output: Output) -> dict[str, Any]:
    in_text = sum(s.text for s in current)
    in_audio = sum(s.audio for s in current)
    cached_text = sum(s.text for s in cached)
    cached_audio = sum(s.audio for s in cached)
    input_tokens = in_text + in_audio
    output_tokens = output.text + output.audio
    return {
        "total_tokens": input_tokens + output_tokens,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "input_token_details": {
            "text_tokens": in_text,
            "audio_tokens": in_audio,
            "image_tokens": 0,
            "cached_tokens": cached_text + cached_audio,
            "cached_tokens_details": {
                "text_tokens": cached_text,
                "audio_tokens": cached_audio,
                "image_tokens": 0,
            },
        },
        "output_token_details": {"text_tokens": output.text, "audio_tokens": output.audio},
    }


def transcription_usage(transcription: dict[str, Any], audio_ms: float, transcript: str) -> dict[str, Any]:
    """The usage on `conversation.item.input_audio_transcription.completed`, by the ASR model's billing."""
    if transcription.get("model") == "whisper-1":
        return {"type": "duration", "seconds": round(audio_ms / 1000, 3)}
    audio = user_audio_tokens(audio_ms)
    prompt = text_tokens(transcription.get("prompt"))
    output = text_tokens(transcript)
    return {
        "type": "tokens",
        "input_tokens": audio + prompt,
        "output_tokens": output,
        "total_tokens": audio + prompt + output,
        "input_token_details": {"text_tokens": prompt, "audio_tokens": audio},
    }
