"""Test helpers: run the stand-in on a loopback port, and a browser-like aiortc client peer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import av
import numpy as np
from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from local.openai_standin import STANDIN, Standin, StandinOptions, create_app
from local.openai_standin.loopback_ice import loopback_candidates
from local.openai_standin.voice import FRAME_SAMPLES, SAMPLE_RATE, PacedAudioTrack

API_KEY = "sk-local-test-0123456789abcdef"


@dataclass
class RunningStandin:
    base_url: str
    app: web.Application
    http: aiohttp.ClientSession

    @property
    def standin(self) -> Standin:
        return self.app[STANDIN]

    async def client_secret(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        async with self.http.post(
            f"{self.base_url}/v1/realtime/client_secrets",
            json=body if body is not None else {"session": {"type": "realtime"}},
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as response:
            assert response.status == 200, await response.text()
            result: dict[str, Any] = await response.json()
            return result

    async def state(self) -> dict[str, Any]:
        async with self.http.get(f"{self.base_url}/__standin/state") as response:
            assert response.status == 200
            result: dict[str, Any] = await response.json()
            return result


@contextlib.asynccontextmanager
async def running_standin(**options: Any) -> AsyncIterator[RunningStandin]:
    app = create_app(StandinOptions(api_key=API_KEY, **options))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as http:
            yield RunningStandin(f"http://127.0.0.1:{port}", app, http)
    finally:
        await runner.cleanup()


class Microphone(PacedAudioTrack):
    """A 300 Hz tone at `level` (0 = digital silence, like a muted track), paced in real time."""

    def __init__(self) -> None:
        super().__init__()
        self.level = 0.0

    def next_samples(self, timestamp: int) -> np.ndarray:
        t = (timestamp + np.arange(FRAME_SAMPLES)) / SAMPLE_RATE
        samples: np.ndarray = np.sin(2 * np.pi * 300 * t) * self.level
        return samples


class RealtimeClient:
    """What the page does: mic track + `oai-events` channel, offer posted to /v1/realtime/calls."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.microphone = Microphone()
        self.pc.addTrack(self.microphone)
        self.channel = self.pc.createDataChannel("oai-events")
        self.events: list[dict[str, Any]] = []
        self.received_frames = 0
        self.received_level = 0.0
        self.last_frame_at = 0.0
        self.call_id: str | None = None
        self._new_event = asyncio.Event()
        self._opened = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.channel.on("open", self._opened.set)
        self.channel.on("message", self._on_message)
        self.pc.on("track", self._on_track)

    def _on_message(self, message: str | bytes) -> None:
        self.events.append(json.loads(message))
        self._new_event.set()

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.AudioFrame)
                samples = frame.to_ndarray().astype(np.float32) / 32768.0
                self.received_level = float(np.sqrt(np.mean(np.square(samples))))
                self.received_frames += 1
                self.last_frame_at = time.monotonic()

    async def offer(self) -> str:
        # Offer 127.0.0.1 as Chromium does with --allow-loopback-in-peer-connection, so ICE completes
        # in a loopback-only network namespace too.
        with loopback_candidates():
            await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def connect(self, standin: RunningStandin, token: str) -> str:
        offer = await self.offer()
        async with standin.http.post(
            f"{standin.base_url}/v1/realtime/calls",
            data=offer,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
        ) as response:
            assert response.status == 201, await response.text()
            answer = await response.text()
            self.call_id = response.headers["Location"].rsplit("/", 1)[-1]
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await asyncio.wait_for(self._opened.wait(), 10)
        return self.call_id

    def send(self, event: dict[str, Any] | str) -> None:
        self.channel.send(event if isinstance(event, str) else json.dumps(event))

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0, start: int = 0
    ) -> dict[str, Any]:
        """The first event from index `start` on that matches; waits for it to arrive."""
        deadline = asyncio.get_running_loop().time() + timeout
        index = start
        while True:
            while index < len(self.events):
                if predicate(self.events[index]):
                    return self.events[index]
                index += 1
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                types = [e["type"] for e in self.events]
                raise TimeoutError(f"no matching event; got {types}")
            self._new_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_event.wait(), remaining)

    async def wait_for_type(self, event_type: str, timeout: float = 10.0, start: int = 0) -> dict[str, Any]:
        return await self.wait_for(lambda e: e["type"] == event_type, timeout, start)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()


async def eventually(check: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02) -> None:
    """Wait until `check()` holds (polling), or fail after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def connected(
    session: dict[str, Any] | None = None, **options: Any
) -> AsyncIterator[tuple[RunningStandin, RealtimeClient]]:
    async with running_standin(**options) as standin:
        secret = await standin.client_secret({"session": session or {"type": "realtime"}})
        client = RealtimeClient()
        try:
            await client.connect(standin, secret["value"])
            await client.wait_for_type("session.created")
            yield standin, client
        finally:
            await client.close()
