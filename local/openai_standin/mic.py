"""What the stand-in hears from the browser: a level meter and a simple turn detector."""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np

# RMS (full scale = 1.0) above which a 20 ms frame counts as sound. Opus-coded digital
# silence (a muted track) decodes to ~0; Chromium's fake device beeps far above this.
SOUND_LEVEL = 0.004
# A pause this long ends speech, as server_vad's silence_duration would.
SILENCE_TO_STOP_MS = 400
# Chromium's fake microphone beeps every 500 ms, so speech may never pause: cut it at 1 s.
MAX_SPEECH_MS = 1000
# The reported level holds the peak of this many frames (600 ms): a 20 ms beep every 500 ms
# reads as a steady level, and a muted microphone reads ~0 within 0.6 s.
LEVEL_WINDOW_FRAMES = 30


def frame_rms(frame: av.AudioFrame) -> float:
    samples = frame.to_ndarray().astype(np.float32)
    if samples.size == 0:
        return 0.0
    if frame.format.name.startswith("s16"):
        samples /= 32768.0
    return float(np.sqrt(np.mean(np.square(samples))))


@dataclass
class Speech:
    start_ms: int
    end_ms: int


class MicMeter:
    """Feed it every received frame; it keeps a recent peak level and reports speech turns.

    `on_speech_start(ms)` and `on_speech_stop(Speech)` are called with the audio clock in
    milliseconds since the first frame. `may_start()` gates new speech (the call says no
    while the assistant speaks and for a cool-down after, so its echo or continuous beeps
    cannot start back-to-back turns).
    """

    def __init__(
        self,
        may_start: Callable[[], bool],
        on_speech_start: Callable[[int], None],
        on_speech_stop: Callable[[Speech], None],
    ) -> None:
        self.packets = 0
        self.audio_ms = 0
        self._may_start = may_start
        self._on_start = on_speech_start
        self._on_stop = on_speech_stop
        self._recent: collections.deque[float] = collections.deque(maxlen=LEVEL_WINDOW_FRAMES)
        self._speech_start: int | None = None
        self._last_sound = 0

    @property
    def level(self) -> float:
        """The loudest 20 ms frame of the last 600 ms (RMS, full scale 1.0)."""
        return max(self._recent, default=0.0)

    def feed(self, frame: av.AudioFrame) -> None:
        rms = frame_rms(frame)
        duration_ms = round(1000 * frame.samples / (frame.sample_rate or 48000))
        self.packets += 1
        self.audio_ms += duration_ms
        self._recent.append(rms)
        now = self.audio_ms
        loud = rms >= SOUND_LEVEL
        if self._speech_start is None:
            if loud and self._may_start():
                self._speech_start = now - duration_ms
                self._last_sound = now
                self._on_start(self._speech_start)
            return
        if loud:
            self._last_sound = now
        if now - self._last_sound >= SILENCE_TO_STOP_MS or now - self._speech_start >= MAX_SPEECH_MS:
            speech = Speech(self._speech_start, now)
            self._speech_start = None
            self._on_stop(speech)

    def discard_speech(self) -> bool:
        """Forget speech in progress (input_audio_buffer.clear); True if there was any."""
        had_speech = self._speech_start is not None
        self._speech_start = None
        return had_speech
