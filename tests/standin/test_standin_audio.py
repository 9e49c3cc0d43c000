"""The stand-in's ears (turn detection) and voice (speech-like synthesis), without a network."""

from __future__ import annotations

import asyncio

import av
import numpy as np

from local.openai_standin.mic import MicMeter, Speech
from local.openai_standin.voice import SPEAKING_GAIN, VoiceTrack, speech_loop


def _frame(level: float) -> av.AudioFrame:
    t = np.arange(960) / 48000
    pcm = (np.sin(2 * np.pi * 400 * t) * level * 32767).astype(np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
    frame.sample_rate = 48000
    return frame


def _meter(listening: list[bool] | None = None) -> tuple[MicMeter, list[int], list[Speech]]:
    starts: list[int] = []
    stops: list[Speech] = []
    gate = listening if listening is not None else [True]
    return MicMeter(lambda: gate[0], starts.append, stops.append), starts, stops


def test_chromium_like_beeps_make_a_turn_that_ends_in_the_pause() -> None:
    meter, starts, stops = _meter()
    for index in range(24):  # a 20 ms beep every 500 ms, like Chromium's fake microphone
        meter.feed(_frame(0.5 if index % 25 == 0 else 0.0))
    assert starts == [0]
    assert len(stops) == 1
    assert stops[0].end_ms == 420  # 20 ms of beep, then 400 ms of quiet


def test_continuous_sound_is_cut_into_a_turn_after_a_second() -> None:
    meter, starts, stops = _meter()
    for _ in range(60):
        meter.feed(_frame(0.3))
    assert len(starts) == 2  # a new turn may start right away; the call's gate prevents it
    assert stops[0].end_ms - stops[0].start_ms == 1000


def test_silence_and_a_closed_gate_start_nothing_but_are_still_counted() -> None:
    gate = [True]
    meter, starts, _ = _meter(gate)
    for _ in range(10):
        meter.feed(_frame(0.0))
    gate[0] = False
    for _ in range(10):
        meter.feed(_frame(0.5))
    assert starts == []
    assert meter.packets == 20
    assert meter.level > 0.3


def test_the_voice_is_speech_like_not_silence_and_not_a_steady_tone() -> None:
    loop = speech_loop()
    windows = loop[: len(loop) // 960 * 960].reshape(-1, 960)
    levels = np.sqrt(np.mean(np.square(windows), axis=1))
    assert levels.max() > 0.3
    assert levels.min() < 0.05 * levels.max()  # syllables rise and fall
    spectrum = np.abs(np.fft.rfft(loop))
    strong_bins = np.count_nonzero(spectrum > 0.1 * spectrum.max())
    assert strong_bins > 5  # harmonics and formants, not one sine


async def test_the_voice_track_paces_20ms_frames_with_pts() -> None:
    track = VoiceTrack()
    track.speaking = True
    loop = asyncio.get_running_loop()
    start = loop.time()
    frames = [await track.recv() for _ in range(6)]
    elapsed = loop.time() - start
    assert [frame.pts for frame in frames] == [0, 960, 1920, 2880, 3840, 4800]
    assert all(frame.sample_rate == 48000 and frame.samples == 960 for frame in frames)
    assert elapsed >= 0.09  # 5 frame intervals of 20 ms
    peak = max(np.abs(frame.to_ndarray()).max() for frame in frames) / 32767
    assert 0.5 * SPEAKING_GAIN < peak <= SPEAKING_GAIN
    track.stop()


def test_the_level_holds_a_beep_for_600ms_then_falls_to_silence() -> None:
    meter, _, _ = _meter([False])
    meter.feed(_frame(0.5))
    for _ in range(29):
        meter.feed(_frame(0.0))
    assert meter.level > 0.3  # the window still holds the beep, 580 ms later
    meter.feed(_frame(0.0))
    assert meter.level == 0.0
