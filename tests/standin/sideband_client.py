"""Test helpers for the sideband: a relayed call as our server makes it, and a companion-like WebSocket.

Every event that crosses the sideband, either way, is checked against openai-python's GA types
(`RealtimeServerEvent`, `RealtimeClientEventParam`) with no unknown keys, independently of the
stand-in's own validators.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from aiortc import RTCSessionDescription
from openai.types.realtime import RealtimeClientEventParam, RealtimeServerEvent
from pydantic import BaseModel, TypeAdapter

from tests.standin.realtime_client import API_KEY, RealtimeClient, RunningStandin

CALLS = "/v1/realtime/calls"
SERVER_EVENTS: TypeAdapter[Any] = TypeAdapter(RealtimeServerEvent)
CLIENT_EVENTS: TypeAdapter[Any] = TypeAdapter(RealtimeClientEventParam)
# What makes aiohttp's server treat a plain GET as a WebSocket handshake.
UPGRADE_HEADERS = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


def _extra_keys(value: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(value, BaseModel):
        found += [f"{path}.{key}" for key in value.model_extra or {}]
        for name in type(value).model_fields:
            found += _extra_keys(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _extra_keys(item, f"{path}[{index}]")
    return found


def check_server_event(event: Mapping[str, Any]) -> None:
    """A GA server event as the SDK types it; the session objects the SDK types loosely aside."""
    parsed = SERVER_EVENTS.validate_python(event)
    assert parsed.type == event["type"]
    extras = [key for key in _extra_keys(parsed) if not key.startswith(".session")]
    assert extras == [], f"{event['type']}: unknown keys {extras}"


def _unknown_keys(data: Any, validated: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(data, Mapping) and isinstance(validated, Mapping):
        for key, value in data.items():
            found += (
                [f"{path}.{key}"]
                if key not in validated
                else _unknown_keys(value, validated[key], f"{path}.{key}")
            )
    return found


def check_client_event(event: Mapping[str, Any]) -> None:
    validated = CLIENT_EVENTS.validate_python(event, strict=True)
    assert _unknown_keys(event, validated) == [], event


async def relay_post(
    standin: RunningStandin, sdp: str, session: Mapping[str, Any] | None, token: str = API_KEY
) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("sdp", sdp, content_type="application/sdp")
    if session is not None:
        form.add_field("session", json.dumps(session), content_type="application/json")
    async with standin.http.post(
        f"{standin.base_url}{CALLS}", data=form, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        await response.read()
        return response


async def relayed_call(
    standin: RunningStandin, session: Mapping[str, Any] | None = None
) -> tuple[RealtimeClient, str]:
    """A browser peer whose offer our server relayed with the API key; returns it and the call id."""
    client = RealtimeClient()
    response = await relay_post(standin, await client.offer(), session or {"type": "realtime"})
    assert response.status == 201, await response.text()
    await client.pc.setRemoteDescription(RTCSessionDescription(await response.text(), "answer"))
    await client.wait_for_type("session.created")
    return client, response.headers["Location"].rsplit("/", 1)[-1]


def sideband_url(standin: RunningStandin, call_id: str, extra: str = "") -> str:
    return f"{standin.base_url}/v1/realtime?call_id={call_id}{extra}"


async def refused_handshake(
    standin: RunningStandin, query: str, token: str | None = API_KEY
) -> tuple[int, dict[str, Any]]:
    """The HTTP answer to a sideband handshake the stand-in refuses before the upgrade."""
    headers = dict(UPGRADE_HEADERS)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with standin.http.get(f"{standin.base_url}/v1/realtime{query}", headers=headers) as response:
        return response.status, await response.json()


class SidebandClient:
    """What the companion holds: the call's sideband, every event checked as it arrives."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self._new_event = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def attach(cls, standin: RunningStandin, call_id: str, extra: str = "") -> SidebandClient:
        ws = await standin.http.ws_connect(
            sideband_url(standin, call_id, extra),
            headers={"Authorization": f"Bearer {API_KEY}"},
            autoping=True,
        )
        return cls(ws)

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    event = json.loads(message.data)
                    check_server_event(event)
                    self.events.append(event)
                    self._new_event.set()
        finally:
            self.close_code = self.ws.close_code
            self.closed.set()
            self._new_event.set()

    async def send(self, event: dict[str, Any]) -> None:
        check_client_event(event)
        await self.ws.send_str(json.dumps(event))

    async def send_raw(self, text: str) -> None:
        """Something that is not a valid client event, on purpose."""
        await self.ws.send_str(text)

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0, start: int = 0
    ) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        index = start
        while True:
            while index < len(self.events):
                if predicate(self.events[index]):
                    return self.events[index]
                index += 1
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or self.closed.is_set():
                raise TimeoutError(f"no matching event; got {[e['type'] for e in self.events]}")
            self._new_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_event.wait(), remaining)

    async def wait_for_type(self, event_type: str, timeout: float = 10.0, start: int = 0) -> dict[str, Any]:
        return await self.wait_for(lambda e: e["type"] == event_type, timeout, start)

    async def wait_closed(self, timeout: float = 5.0) -> int | None:
        await asyncio.wait_for(self.closed.wait(), timeout)
        return self.close_code

    async def close(self) -> None:
        await self.ws.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closed.wait(), 2.0)
