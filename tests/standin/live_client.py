"""Test helpers for GPT-Live: the create as our server makes it, a browser-like peer, a sideband.

Every event that crosses the data channel or a sideband, either way, is checked against
openai-python's `openai.types.live` types (`ConnectServerEvent`, `ConnectClientEventParam`) with
no unknown keys, and a `response.event`'s wrapped event against `ResponseStreamEvent`,
independently of the stand-in's own validators.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
from aiortc import RTCSessionDescription
from openai.types.live import ConnectClientEventParam, ConnectServerEvent, LiveCreateResponse
from openai.types.responses import ResponseStreamEvent
from pydantic import BaseModel, TypeAdapter

from tests.standin.realtime_client import API_KEY, RealtimeClient, RunningStandin, running_standin
from tests.standin.sideband_client import UPGRADE_HEADERS, SidebandClient

SESSIONS = "/v1/live/sessions"
MODEL = "gpt-live-1.1"
SERVER_EVENTS: TypeAdapter[Any] = TypeAdapter(ConnectServerEvent)
CLIENT_EVENTS: TypeAdapter[Any] = TypeAdapter(ConnectClientEventParam)
RESPONSE_EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
# What the lead fixed for the page (common brief): the events it may send and receive.
PAGE_CLIENT_EVENTS = ["session.input_audio.mute", "session.input_audio.unmute", "session.close"]
PAGE_SERVER_EVENTS: list[dict[str, str]] = [
    {"type": name}
    for name in (
        "session.input_transcript.delta",
        "session.output_transcript.delta",
        "session.input_audio.muted",
        "session.input_audio.unmuted",
        "session.paused",
        "session.resumed",
        "session.delegation.created",
        "error",
        "info",
    )
] + [{"type": "response.event", "response_event": "response.output_item.done"}]
PAGE_CHANNEL = {
    "data_channel": {"allowed_client_events": PAGE_CLIENT_EVENTS, "allowed_server_events": PAGE_SERVER_EVENTS}
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
    parsed = SERVER_EVENTS.validate_python(event)
    assert parsed.type == event["type"]
    assert _extra_keys(parsed) == [], f"{event['type']}: unknown keys {_extra_keys(parsed)}"
    if event["type"] == "response.event":
        nested = RESPONSE_EVENTS.validate_python(event["event"])
        assert _extra_keys(nested) == [], f"response.event {event['event']['type']}: {_extra_keys(nested)}"


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


def create_body(sdp: str, **session: Any) -> dict[str, Any]:
    return {"session": {"model": MODEL, **session}, "transport": {"type": "webrtc", "sdp": sdp}}


async def post_create(
    standin: RunningStandin, body: Any, token: str | None = API_KEY, content_type: str = "application/json"
) -> tuple[int, dict[str, Any], aiohttp.ClientResponse]:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, str) else json.dumps(body)
    async with standin.http.post(f"{standin.base_url}{SESSIONS}", data=data, headers=headers) as response:
        return response.status, await response.json(), response


class LiveClient(RealtimeClient):
    """What the page does in live mode: mic track + `oai-events`, the offer posted by our server."""

    session_id: str | None = None

    def _on_message(self, message: str | bytes) -> None:
        event = json.loads(message)
        check_server_event(event)
        super()._on_message(message)

    def send(self, event: dict[str, Any] | str) -> None:
        if isinstance(event, dict):
            check_client_event(event)
        super().send(event)

    async def create(self, standin: RunningStandin, **session: Any) -> str:
        status, body, _ = await post_create(standin, create_body(await self.offer(), **session))
        assert status == 201, body
        LiveCreateResponse.model_validate(body)
        assert set(body) == {"session", "transport"} and set(body["session"]) == {"id"}
        self.session_id = body["session"]["id"]
        await self.pc.setRemoteDescription(RTCSessionDescription(body["transport"]["sdp"], "answer"))
        await asyncio.wait_for(self._opened.wait(), 10)
        return self.session_id


class LiveSideband(SidebandClient):
    """A companion's sideband on a Live session; every event checked against the live types."""

    @classmethod
    async def attach_live(cls, standin: RunningStandin, session_id: str, query: str = "") -> LiveSideband:
        ws = await standin.http.ws_connect(
            f"{standin.base_url}{SESSIONS}/{session_id}/attach{query}",
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

    def events_with_id(self) -> list[dict[str, Any]]:
        return [event for event in self.events if "event_id" in event]


async def refused_attach(
    standin: RunningStandin, session_id: str, token: str | None = API_KEY
) -> tuple[int, dict[str, Any]]:
    headers = dict(UPGRADE_HEADERS)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = f"{standin.base_url}{SESSIONS}/{session_id}/attach"
    async with standin.http.get(url, headers=headers) as response:
        return response.status, await response.json()


async def live_state(standin: RunningStandin, session_id: str) -> dict[str, Any]:
    sessions: dict[str, dict[str, Any]] = {s["id"]: s for s in (await standin.state())["live_sessions"]}
    return sessions[session_id]


@contextlib.asynccontextmanager
async def live_session(
    options: Mapping[str, Any] | None = None, **session: Any
) -> AsyncIterator[tuple[RunningStandin, LiveClient]]:
    """A stand-in, and a page connected to a Live session created with `session`."""
    async with running_standin(**(options or {})) as standin:
        client = LiveClient()
        try:
            await client.create(standin, **session)
            yield standin, client
        finally:
            await client.close()
