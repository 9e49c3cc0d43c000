"""One GPT-Live WebRTC session: the aiortc peer, its relay, its data channel, its sidebands and its
lifecycle. The protocol itself is LiveSession's."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import time
from collections.abc import Coroutine
from typing import Any

import av
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ..background import spawn
from ..ids import new_id
from ..mic import MicMeter
from ..options import StandinOptions
from ..peer_answer import answer_offer
from ..relay import UdpRelay
from ..sidebands import Sideband, Sidebands
from .client_events import event_identity
from .delegation import ResponsesBackend
from .live_session import LiveSession
from .permissions import DataChannelPermissions, refused_message
from .reflection import InputReflector, OutputReflector, ReflectingVoiceTrack
from .server_events import validate_live_server_event
from .session_resource import build_session_resource
from .standby import Standby
from .usage_meter import UsageMeter
from .usage_reports import report_usage

logger = logging.getLogger(__name__)
EVENTS_CHANNEL = "oai-events"
MAX_LOGGED_EVENTS = 5000
# A browser that never completes ICE must not leave a peer behind for ever.
CONNECT_TIMEOUT_SECONDS = 30.0
# How long a close waits for the page to have read every event before the peer connection goes.
CHANNEL_FLUSH_SECONDS = 1.0
# A browser that hung up sent its last packet (its DTLS close_notify) just now; one whose network
# died has been silent for ICE consent's whole failure window (seconds).
RECENT_PACKET_SECONDS = 1.0


def created_body_record(body: dict[str, Any]) -> dict[str, Any]:
    """The create body as the state snapshot shows it: the SDP offer left out."""
    record = copy.deepcopy(body)
    record["transport"] = {key: value for key, value in record["transport"].items() if key != "sdp"}
    return record


class LiveCall:
    def __init__(self, body: dict[str, Any], options: StandinOptions) -> None:
        self.id = new_id("live_", 16)
        self.created_at = time.time()
        self.created_body = created_body_record(body)
        self.config: dict[str, Any] = body["session"]
        self.expires_at = int(self.created_at + options.live_max_session_seconds)
        self.state = "new"
        self.answered_at: float | None = None
        self.ended_at: float | None = None
        self.close_reason: str | None = None
        self.ended_by: str | None = None
        self.server_events: list[dict[str, Any]] = []
        self.client_events: list[dict[str, Any]] = []
        self.refused_client_events: list[str] = []
        self.refused_channels: list[str] = []
        self.hangups_received = 0
        self.permissions = DataChannelPermissions(self.config.get("client"))
        self._options = options
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._relay: UdpRelay | None = None
        self._channel: RTCDataChannel | None = None
        self._started = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: list[asyncio.TimerHandle] = []
        self.usage = UsageMeter(self._loop.time)
        self.voice = ReflectingVoiceTrack()
        self.sidebands = Sidebands()
        resource = build_session_resource(self.id, self.expires_at, self.config)
        self.session = LiveSession(
            resource,
            options,
            emit=self.emit,
            voice=self.voice,
            timeline_ms=self.timeline_ms,
            close=self.request_close,
        )
        self.meter = MicMeter(
            self.session.may_start_speech, self.session.speech_started, self.session.speech_stopped
        )
        self.session.attach_microphone(self.meter.discard_speech)
        self._wire_standby()
        self._wire_delegation()
        self._wire_reflection()

    def _wire_standby(self) -> None:
        session = self.session
        self.standby = Standby(
            self.config, self.emit, self.usage, lambda: session.speaking or session.user_speaking
        )
        session.speech_listeners.append(self.standby.wake)
        session.speaking_listeners.append(self.standby.wake)
        session.heard_listeners.append(self.standby.activity)
        session.spoke_listeners.append(self.standby.activity)

    def _wire_delegation(self) -> None:
        session = self.session
        self.backend = ResponsesBackend(
            lambda: session.resource["delegation"], self.emit, session.say, self.timeline_ms
        )
        session.register("response.item.create", self.backend.item_create)
        session.register("response.create", self.backend.response_create)
        if session.resource["delegation"]["type"] == "responses":
            session.delegate = self.backend.spoken_turn

    def _wire_reflection(self) -> None:
        self._input_reflector = InputReflector(self.reflect)
        self._output_reflector = OutputReflector(self.reflect, self.timeline_ms)
        self.voice.on_speech = self._reflect_output
        self.session.spoke_listeners.append(self._output_reflector.utterance_ended)

    def _reflecting(self) -> bool:
        return self._options.live_reflect_audio and self.sidebands.attached_count > 0 and not self.ended

    def _reflect_output(self, samples: Any) -> None:
        if self._reflecting():
            self._output_reflector.feed(samples)

    def timeline_ms(self) -> int:
        """Milliseconds since the session started (its create), the timeline of every `*_ms` field."""
        return round((self._loop.time() - self._t0) * 1000)

    @property
    def ended(self) -> bool:
        return self.state in ("closing", "closed")

    # -- setup ------------------------------------------------------------------------------------

    async def answer(self, offer_sdp: str) -> str:
        pc = self._pc
        pc.on("track", self._on_track)
        pc.on("datachannel", self._on_datachannel)
        pc.on("connectionstatechange", self._on_connection_state)
        answer, self._relay = await answer_offer(
            pc, offer_sdp, self.voice, lambda: self._options.media_delay_ms
        )
        self.state = "connecting"
        expiry = self._t0 + self._options.live_max_session_seconds
        self._timers.append(self._loop.call_at(expiry, self._expire))
        self._timers.append(self._loop.call_later(CONNECT_TIMEOUT_SECONDS, self._give_up_connecting))
        return answer

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        return spawn(coro, self._tasks)

    def _give_up_connecting(self) -> None:
        if self.state == "connecting":
            self.request_close("connection_lost", None, "browser")

    def _expire(self) -> None:
        self.request_close("expired", None, "expiry")

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self.spawn(self._listen(track))

    async def _listen(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.AudioFrame):
                    self.on_microphone(frame)

    def on_microphone(self, frame: av.AudioFrame) -> None:
        if self._reflecting():  # before muting, as OpenAI reflects it
            self._input_reflector.feed(frame)
        self.meter.feed(frame)

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        if channel.label != EVENTS_CHANNEL:
            # GPT-Live documents only `oai-events`: another channel is closed, never answered.
            self.refused_channels.append(channel.label)
            channel.close()
            return
        self._channel = channel
        channel.on("message", self._on_message)
        if channel.readyState == "open":
            self._opened()
        else:
            channel.on("open", self._opened)

    def _opened(self) -> None:
        if self._started or self.ended:
            return
        self._started = True
        self.emit({"type": "session.started", "session": copy.deepcopy(self.session.resource)})
        if self.permissions.restricted:
            self.emit(
                {"type": "info", "code": "data_channel_permissions", "message": self.permissions.describe()}
            )
        self.standby.started()
        self.spawn(report_usage(self._options, self.usage, lambda: self.session.text_chars, self.emit))

    async def _on_connection_state(self) -> None:
        state = self._pc.connectionState
        if state == "connected" and self.state == "connecting":
            self.state = "connected"
        elif state in ("failed", "closed"):
            await self.close(self._why_peer_ended(state), ended_by="browser")

    def _why_peer_ended(self, state: str) -> str:
        """`remote_hangup` when the browser closed on purpose, `connection_lost` when it went silent.

        aiortc closes the peer connection whenever DTLS closes, whether the browser sent its
        close_notify or ICE consent expired (RFC 7675: some 30 s without an answer), so the state
        alone cannot tell. The wire can: a browser that hangs up was sending until that moment.
        """
        last = self._relay.counters.last_to_peer_at if self._relay is not None else None
        if state == "failed" or last is None or self._loop.time() - last > RECENT_PACKET_SECONDS:
            return "connection_lost"
        return "remote_hangup"

    # -- client events ------------------------------------------------------------------------------

    def _on_message(self, message: str | bytes) -> None:
        if self.ended:
            return
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        event_type, event_id = event_identity(text)
        if event_type is not None and not self.permissions.allows_client(event_type):
            self.refused_client_events.append(event_type)
            info: dict[str, Any] = {
                "type": "info",
                "code": "data_channel_permissions",
                "message": refused_message(event_type),
            }
            if event_id is not None:
                info["client_event_id"] = event_id
            self.emit(info)
            return
        event = self.session.receive(text, reply=self.emit, source="data_channel")
        self._log_client(self.client_events, event, text)

    def receive_from_sideband(self, text: str, sideband: Sideband) -> None:
        if self.ended:
            return
        event = self.session.receive(
            text, reply=lambda e: self._emit_to_sideband(e, sideband), source="sideband"
        )
        self._log_client(sideband.client_events, event, text)

    @staticmethod
    def _log_client(log: list[dict[str, Any]], event: dict[str, Any] | None, text: str) -> None:
        if len(log) < MAX_LOGGED_EVENTS:
            log.append(event if event is not None else {"invalid": True, "raw": text[:2000]})

    # -- server events --------------------------------------------------------------------------------

    @staticmethod
    def _full(event: dict[str, Any]) -> dict[str, Any]:
        full = {"type": event["type"], "event_id": new_id("event_"), **event}
        validate_live_server_event(full)
        return full

    def emit(self, event: dict[str, Any]) -> None:
        """One server event: to the data channel if its filter allows it, and to every sideband,
        with the same event_id. Nothing follows `session.closed`."""
        if self.state == "closed" or (self.state == "closing" and event["type"] != "session.closed"):
            return
        full = self._full(event)
        if len(self.server_events) < MAX_LOGGED_EVENTS:
            self.server_events.append(full)
        text = json.dumps(full)
        channel = self._channel
        if channel is not None and channel.readyState == "open" and self.permissions.allows_server(full):
            channel.send(text)
        self.sidebands.broadcast(text)

    def reflect(self, event: dict[str, Any]) -> None:
        """Sideband-only reflected audio (no event_id, as OpenAI sends it)."""
        if not self.ended:
            validate_live_server_event(event)
            self.sidebands.broadcast(json.dumps(event))

    def _emit_to_sideband(self, event: dict[str, Any], sideband: Sideband) -> None:
        sideband.send(json.dumps(self._full(event)))

    # -- ending ----------------------------------------------------------------------------------------

    def request_close(self, reason: str, client_event_id: str | None, ended_by: str) -> None:
        self.spawn(self.close(reason, client_event_id, ended_by=ended_by))

    def drop(self) -> None:
        """Blackhole the session's packets both ways: ICE consent then fails (`connection_lost`)."""
        if self._relay is not None and not self.ended:
            self._relay.blackhole()

    async def close(self, reason: str, client_event_id: str | None = None, *, ended_by: str) -> None:
        if self.ended:
            return
        self.state = "closing"
        self.close_reason = reason
        self.ended_by = ended_by
        for timer in self._timers:
            timer.cancel()
        self.session.stop()
        self.standby.stop()
        self.backend.close()
        self.usage.stop()
        closed: dict[str, Any] = {
            "type": "session.closed",
            "reason": reason,
            "session": copy.deepcopy(self.session.resource),
            "usage": self.usage.snapshot(),
        }
        if client_event_id is not None:
            closed["client_event_id"] = client_event_id
        self.emit(closed)
        await self._flush_events_channel()
        self.state = "closed"
        self.ended_at = time.time()
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        self.voice.stop()
        await self._pc.close()
        if self._relay is not None:
            self._relay.close()
        await self.sidebands.close_all(1000, call_ended=True)
        logger.info("live session ended", extra={"reason": reason})

    async def _flush_events_channel(self) -> None:
        """Close `oai-events` after its last message and wait until the peer has read them all (an
        SCTP stream reset follows queued data: RFC 8831 section 6.7)."""
        channel = self._channel
        if channel is None or channel.readyState != "open":
            return
        closed = asyncio.Event()
        channel.on("close", closed.set)
        channel.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(closed.wait(), CHANNEL_FLUSH_SECONDS)

    # -- state for the control API -----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "created_at": self.created_at,
            "answered_at": self.answered_at,
            "ended_at": self.ended_at,
            "expires_at": self.expires_at,
            "close_reason": self.close_reason,
            "ended_by": self.ended_by,
            "created_body": self.created_body,
            "session": self.session.resource,
            "muted": self.session.muted,
            "function_calls": self.backend.function_calls.snapshot(),
            "standby": {
                "enabled": self.standby.enabled,
                "awake": self.standby.awake,
                "paused_count": self.standby.paused_count,
                "resumed_count": self.standby.resumed_count,
            },
            "usage": self.usage.snapshot(),
            "sidebands": self.sidebands.snapshot(),
            "refused_client_events": self.refused_client_events,
            "refused_channels": self.refused_channels,
            "hangups_received": self.hangups_received,
            "client_events": self.client_events,
            "server_events": self.server_events,
            "ice_state": self._pc.iceConnectionState,
            "data_channel_open": self._channel is not None and self._channel.readyState == "open",
            "mic_packets": self.meter.packets,
            "audio_frames_sent": self.voice.frames_sent,
            "assistant_speaking": self.voice.speaking,
            "relay": self._relay.counters.as_dict() if self._relay else None,
        }
