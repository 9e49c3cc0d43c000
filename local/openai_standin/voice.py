"""The assistant's voice: a synthetic, speech-like audio track.

Not silence and not a constant tone: a glottal-pulse-like harmonic series (f0 ~125 Hz) shaped
by vowel formants, cycling through vowels at syllable rate (4 Hz) with an amplitude envelope
that falls to zero between syllables. Quiet while idle, clearly present while "speaking".
"""

from __future__ import annotations

import asyncio
import fractions
import functools
import time

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms, Opus' usual packet
_F0 = 125.0
_SYLLABLE_HZ = 4.0
# (F1, F2, F3) in Hz for /a/, /e/, /i/, /o/, /u/.
_VOWELS = ((730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410), (300, 870, 2240))
IDLE_GAIN = 0.004
SPEAKING_GAIN = 0.35


def _formant_weight(freq: float, formants: tuple[int, int, int]) -> float:
    bandwidth = 90.0
    return sum(1.0 / (1.0 + ((freq - f) / bandwidth) ** 2) for f in formants) + 0.02


@functools.cache
def speech_loop() -> np.ndarray:
    """One syllable per vowel, back to back: a seamless loop (every syllable starts and ends
    at zero amplitude), peak-normalised to 1.0. Computed once per process (~3 ms)."""
    syllable = np.arange(int(SAMPLE_RATE / _SYLLABLE_HZ), dtype=np.float32) / SAMPLE_RATE
    harmonics = np.arange(1, int(3500 / _F0) + 1, dtype=np.float32)
    phases = np.sin(2 * np.pi * _F0 * np.outer(syllable, harmonics))
    envelope = np.sin(np.pi * syllable * _SYLLABLE_HZ) ** 2
    pieces = []
    for formants in _VOWELS:
        weights = (
            np.array([_formant_weight(float(h) * _F0, formants) for h in harmonics], dtype=np.float32)
            / harmonics
        )
        pieces.append((phases @ weights) * envelope)
    signal = np.concatenate(pieces)
    normalised: np.ndarray = (signal / np.max(np.abs(signal))).astype(np.float32)
    return normalised


class PacedAudioTrack(MediaStreamTrack):
    """20 ms s16 mono frames at 48 kHz, paced in real time by their pts. Subclasses say what the
    next frame holds (`next_samples`, floats in [-1, 1])."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._timestamp = 0

    def next_samples(self, timestamp: int) -> np.ndarray:
        raise NotImplementedError

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._timestamp += FRAME_SAMPLES
            wait = self._start + self._timestamp / SAMPLE_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        pcm = (self.next_samples(self._timestamp) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._timestamp
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


class VoiceTrack(PacedAudioTrack):
    """The assistant's voice: the speech loop, quiet while idle, clearly present while speaking."""

    def __init__(self) -> None:
        super().__init__()
        self._loop_samples = speech_loop()
        self._position = 0
        self.speaking = False
        self.frames_sent = 0

    def next_samples(self, timestamp: int) -> np.ndarray:
        end = self._position + FRAME_SAMPLES
        chunk = np.take(self._loop_samples, np.arange(self._position, end), mode="wrap")
        self._position = end % len(self._loop_samples)
        self.frames_sent += 1
        samples: np.ndarray = chunk * (SPEAKING_GAIN if self.speaking else IDLE_GAIN)
        return samples
