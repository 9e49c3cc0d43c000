"""Everything the stand-in remembers, held on the aiohttp app."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from .call import Call
from .live.live_call import LiveCall
from .options import StandinOptions
from .secrets_store import Clock, SecretStore


class Standin:
    def __init__(self, options: StandinOptions) -> None:
        self.options = options
        self.clock = Clock()
        self.secrets = SecretStore(self.clock)
        self.calls: dict[str, Call] = {}
        self.live_sessions: dict[str, LiveCall] = {}

    def add_call(self, call: Call) -> None:
        self.calls[call.id] = call

    def add_live_session(self, session: LiveCall) -> None:
        self.live_sessions[session.id] = session

    def active_live_sessions(self) -> list[LiveCall]:
        return [session for session in self.live_sessions.values() if not session.ended]

    def active_calls(self) -> list[Call]:
        return [call for call in self.calls.values() if call.state != "closed"]

    async def close_calls(self, reason: str) -> None:
        await asyncio.gather(*(call.end(reason) for call in self.active_calls()))
        # A Live session the stand-in itself ends: OpenAI's nearest reason is a lost connection.
        await asyncio.gather(
            *(session.close("connection_lost", ended_by=reason) for session in self.active_live_sessions())
        )

    async def reset(self) -> None:
        await self.close_calls("reset")
        self.calls.clear()
        self.live_sessions.clear()
        self.secrets.clear()
        self.clock.offset = 0.0
        # A transcript set for a turn that never came belongs to the test that set it.
        self.options.mic_transcript = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "options": self.options.as_public_dict(),
            "client_secrets_issued": self.secrets.issued,
            "clock_offset_seconds": self.clock.offset,
            "calls": [call.snapshot() for call in self.calls.values()],
            "live_sessions": [session.snapshot() for session in self.live_sessions.values()],
        }


STANDIN: web.AppKey[Standin] = web.AppKey("standin", Standin)
