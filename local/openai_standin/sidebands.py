"""The sideband WebSockets attached to one call: each gets every server event, in order.

Sends are queued per sideband and written by its own task, so a slow reader never holds up the
call, and a close (1000 when the call ends, 1001 for a simulated proxy restart) goes out after
every event queued before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiohttp import web

from .ids import new_id

# How long the end of a call waits for its sidebands' close handshakes.
CLOSE_WAIT_SECONDS = 2.0


class PingRecordingWebSocket(web.WebSocketResponse):
    """aiohttp answers pings itself (autoping); this notes when it did, so tests can assert keepalive."""

    last_ping_at: float | None = None
    pings = 0

    async def pong(self, message: bytes = b"") -> None:
        self.last_ping_at = time.time()
        self.pings += 1
        await super().pong(message)


class Sideband:
    def __init__(self, ws: PingRecordingWebSocket) -> None:
        self.id = new_id("sb_", 8)
        self.ws = ws
        self.attached_at = time.time()
        self.events_sent = 0
        self.client_events: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self._queue: asyncio.Queue[str | int] = asyncio.Queue()

    def send(self, text: str) -> None:
        if self.close_code is None:
            self._queue.put_nowait(text)

    def close(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
            self._queue.put_nowait(code)

    async def write_loop(self) -> None:
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, int):
                    await self.ws.close(code=item)
                    return
                if self.ws.closed:
                    return
                await self.ws.send_str(item)
                self.events_sent += 1
        except ConnectionError:
            return  # the peer went away mid-write; its reader ends the handler
        finally:
            self.closed.set()

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "attached_at": self.attached_at,
            "last_ping_at": self.ws.last_ping_at,
            "pings": self.ws.pings,
            "events_sent": self.events_sent,
            "client_events": self.client_events,
            "close_code": self.close_code,
            "open": not self.closed.is_set() and not self.ws.closed,
        }


class Sidebands:
    def __init__(self) -> None:
        self._attached: list[Sideband] = []
        self._history: list[Sideband] = []
        self._ended = False

    def attach(self, sideband: Sideband) -> bool:
        """False once the call has ended: the caller closes it with 1000."""
        if self._ended:
            return False
        self._attached.append(sideband)
        self._history.append(sideband)
        return True

    @property
    def attached_count(self) -> int:
        return len(self._attached)

    def detach(self, sideband: Sideband) -> None:
        if sideband in self._attached:
            self._attached.remove(sideband)

    def broadcast(self, text: str) -> None:
        for sideband in self._attached:
            sideband.send(text)

    async def close_all(self, code: int, *, call_ended: bool) -> int:
        """Close every attached sideband with `code`; returns how many there were."""
        self._ended = self._ended or call_ended
        closing = list(self._attached)
        for sideband in closing:
            sideband.close(code)
        if closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(sideband.closed.wait() for sideband in closing)), CLOSE_WAIT_SECONDS
                )
        return len(closing)

    def snapshot(self) -> dict[str, Any]:
        pings = [s.ws.last_ping_at for s in self._attached if s.ws.last_ping_at is not None]
        return {
            "attached": len(self._attached),
            "attached_total": len(self._history),
            "last_ping_at": max(pings, default=None),
            "connections": [sideband.snapshot() for sideband in self._history],
        }
