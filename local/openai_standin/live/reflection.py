"""Reflected audio on sidebands, as OpenAI sends it: the microphone as `session.input_audio.append`
(reflected before muting) and the voice as `session.output_audio.delta` with `start_ms`/`end_ms`,
both base64 mono PCM16LE at 24 kHz, without `event_id`. The stand-in sends 100 ms chunks."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import av
import numpy as np

from ..voice import SAMPLE_RATE, VoiceTrack

REFLECTED_RATE = 24000
CHUNK_MS = 100
CHUNK_BYTES = REFLECTED_RATE * CHUNK_MS // 1000 * 2

Emit = Callable[[dict[str, Any]], None]


class InputReflector:
    """The browser's microphone frames, resampled to 24 kHz mono, in 100 ms appends."""

    def __init__(self, reflect: Emit) -> None:
        self._reflect = reflect
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=REFLECTED_RATE)
        self._buffer = bytearray()

    def feed(self, frame: av.AudioFrame) -> None:
        for resampled in self._resampler.resample(frame):
            self._buffer += resampled.to_ndarray().astype("<i2").tobytes()
        while len(self._buffer) >= CHUNK_BYTES:
            chunk, self._buffer = bytes(self._buffer[:CHUNK_BYTES]), self._buffer[CHUNK_BYTES:]
            self._reflect({"type": "session.input_audio.append", "audio": base64.b64encode(chunk).decode()})


class ReflectingVoiceTrack(VoiceTrack):
    """The voice track, reporting what it sends while the assistant speaks (48 kHz floats)."""

    def __init__(self) -> None:
        super().__init__()
        self.on_speech: Callable[[np.ndarray], None] | None = None

    def next_samples(self, timestamp: int) -> np.ndarray:
        samples = super().next_samples(timestamp)
        if self.speaking and self.on_speech is not None:
            self.on_speech(samples)
        return samples


class OutputReflector:
    """The assistant's speech, halved to 24 kHz (the voice has nothing above 3.5 kHz), in 100 ms
    deltas placed on the session timeline."""

    def __init__(self, reflect: Emit, timeline_ms: Callable[[], int]) -> None:
        self._reflect = reflect
        self._timeline_ms = timeline_ms
        self._buffer = bytearray()
        self._start_ms: int | None = None

    def feed(self, samples: np.ndarray) -> None:
        if self._start_ms is None:
            self._start_ms = self._timeline_ms()
        pcm = (samples[:: SAMPLE_RATE // REFLECTED_RATE] * 32767).astype("<i2")
        self._buffer += pcm.tobytes()
        while len(self._buffer) >= CHUNK_BYTES:
            chunk, self._buffer = bytes(self._buffer[:CHUNK_BYTES]), self._buffer[CHUNK_BYTES:]
            self._reflect(
                {
                    "type": "session.output_audio.delta",
                    "delta": base64.b64encode(chunk).decode(),
                    "start_ms": self._start_ms,
                    "end_ms": self._start_ms + CHUNK_MS,
                }
            )
            self._start_ms += CHUNK_MS

    def utterance_ended(self) -> None:
        """Flush the last partial chunk; the next utterance starts its own timing."""
        if self._buffer and self._start_ms is not None:
            duration = len(self._buffer) * 1000 // (REFLECTED_RATE * 2)
            self._reflect(
                {
                    "type": "session.output_audio.delta",
                    "delta": base64.b64encode(bytes(self._buffer)).decode(),
                    "start_ms": self._start_ms,
                    "end_ms": self._start_ms + duration,
                }
            )
        self._buffer.clear()
        self._start_ms = None
