"""The voice model speaking one utterance: the voice track speaks, and the output transcript
arrives as fragments timed to the audio frames actually sent to the browser."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ..voice import FRAME_SAMPLES, SAMPLE_RATE, VoiceTrack
from .transcripts import split_words

Emit = Callable[[dict[str, Any]], None]
FRAME_MS = 1000 * FRAME_SAMPLES // SAMPLE_RATE
# Audio per fragment (two words), as the Realtime stand-in paces its transcript deltas.
FRAGMENT_MS = 160
# If nothing pulls the voice track (a browser that never connected), wall time stands in for
# the frames after this much slack.
_STALL_SLACK_SECONDS = 0.5
_POLL_SECONDS = FRAME_MS / 1000


async def speak(text: str, voice: VoiceTrack, emit: Emit, timeline_ms: Callable[[], int]) -> int:
    """Speak `text`; returns how many ms of audio it took."""
    loop = asyncio.get_running_loop()
    first_frame = voice.frames_sent
    start_ms = timeline_ms()
    began = loop.time()
    voice.speaking = True
    spoken_ms = 0
    try:
        for index, delta in enumerate(split_words(text)):
            target_ms = (index + 1) * FRAGMENT_MS
            deadline = began + target_ms / 1000 + _STALL_SLACK_SECONDS
            while (voice.frames_sent - first_frame) * FRAME_MS < target_ms and loop.time() < deadline:
                await asyncio.sleep(_POLL_SECONDS)
            sent_ms = (voice.frames_sent - first_frame) * FRAME_MS
            if sent_ms < target_ms:  # stalled: wall time instead
                sent_ms = round((loop.time() - began) * 1000)
            emit(
                {
                    "type": "session.output_transcript.delta",
                    "delta": delta,
                    "start_ms": start_ms + spoken_ms,
                    "end_ms": start_ms + sent_ms,
                }
            )
            spoken_ms = sent_ms
    finally:
        voice.speaking = False
    return spoken_ms
