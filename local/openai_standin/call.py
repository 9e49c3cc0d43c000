"""One WebRTC call: the aiortc peer, its relay, its Realtime session and its lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Coroutine
from typing import Any

import av
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .background import spawn
from .ids import new_id
from .mic import MicMeter
from .options import StandinOptions, take_mic_transcript
from .peer_answer import answer_offer
from .realtime_session import RealtimeSession
from .relay import UdpRelay
from .server_events import validate_server_event
from .sidebands import Sideband, Sidebands
from .voice import VoiceTrack

logger = logging.getLogger(__name__)
EVENTS_CHANNEL = "oai-events"
# Enough for any test; a runaway call cannot grow memory without bound.
MAX_LOGGED_EVENTS = 5000
# A browser that never completes ICE (it went away after the SDP exchange) must not leave
# a peer behind for ever.
CONNECT_TIMEOUT_SECONDS = 30.0
# Why a call ended, as the state snapshot's `ended_by` reports it.
ENDED_BY = {
    "hangup": "hangup",
    "session_expired": "expiry",
    "peer_closed": "browser",
    "peer_failed": "browser",
    "ice_timeout": "browser",
}


def session_expired_message(seconds: float) -> str:
    if seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"Your session hit the maximum duration of {minutes} minute{'s' if minutes != 1 else ''}."
    return f"Your session hit the maximum duration of {seconds:g} seconds."


class Call:
    def __init__(self, session: dict[str, Any], options: StandinOptions, *, ek_sha256: str | None) -> None:
        self.id = new_id("rtc_", 16)
        self.created_at = time.time()
        self.answered_at: float | None = None  # when the 201 with the SDP answer left (benches)
        self.ended_at: float | None = None
        self.end_reason: str | None = None
        self.state = "new"
        self.ek_sha256 = ek_sha256
        self.safety_identifier: str | None = None
        self.server_events: list[dict[str, Any]] = []
        self._options = options
        self._loop = asyncio.get_running_loop()
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._relay: UdpRelay | None = None
        self._channel: RTCDataChannel | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._expiry: asyncio.TimerHandle | None = None
        self._connect_deadline: asyncio.TimerHandle | None = None
        self._started = self._loop.time()
        self._expired = False
        self.voice = VoiceTrack()
        self.sidebands = Sidebands()
        # The running session reports when it will hit the cap (the client secret's copy says 0).
        session = {**session, "expires_at": int(self.created_at + options.session_max_seconds)}
        self.realtime = RealtimeSession(
            session, self.emit, self.voice, lambda: options.mic_turns, lambda: take_mic_transcript(options)
        )
        self.meter = MicMeter(
            self.realtime.may_start_speech, self.realtime.speech_started, self.realtime.speech_stopped
        )
        self.realtime.attach_microphone(lambda: self.meter.audio_ms, self.meter.discard_speech)

    # -- setup ----------------------------------------------------------------------------

    async def answer(self, offer_sdp: str) -> str:
        """Answer the browser's offer; returns the answer SDP, pointing at the relay."""
        pc = self._pc
        pc.on("track", self._on_track)
        pc.on("datachannel", self._on_datachannel)
        pc.on("connectionstatechange", self._on_connection_state)
        answer, self._relay = await answer_offer(
            pc, offer_sdp, self.voice, lambda: self._options.media_delay_ms
        )
        self.state = "connecting"
        self._started = self._loop.time()
        self.schedule_expiry()
        self._connect_deadline = self._loop.call_later(CONNECT_TIMEOUT_SECONDS, self._give_up_connecting)
        return answer

    def schedule_expiry(self) -> None:
        """(Re)arm the session cap from the current options, counted from the call's start."""
        if self.state == "closed" or self._expired:
            return
        if self._expiry is not None:
            self._expiry.cancel()
        deadline = self._started + self._options.session_max_seconds
        self._expiry = self._loop.call_at(deadline, self._expire)

    def _give_up_connecting(self) -> None:
        if self.state == "connecting":
            self._spawn(self.end("ice_timeout"))

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._spawn(self._listen(track))

    async def _listen(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.AudioFrame):
                    self.meter.feed(frame)

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        if channel.label != EVENTS_CHANNEL:
            return
        self._channel = channel
        channel.on("message", self._on_message)
        if channel.readyState == "open":
            self.realtime.opened()
        else:
            channel.on("open", self.realtime.opened)

    def _on_message(self, message: str | bytes) -> None:
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        self.realtime.receive(text, reply=self._reply_on_channel)

    def receive_from_sideband(self, text: str, sideband: Sideband) -> None:
        """A sideband's client event: applied to the same session; its errors go back to it alone."""
        if self.state == "closed":
            return  # read from the socket after the call ended: there is no session to apply it to
        self.realtime.receive(
            text,
            reply=lambda event: self._emit_to_sideband(event, sideband),
            source="sideband",
            log=sideband.client_events,
        )

    async def _on_connection_state(self) -> None:
        state = self._pc.connectionState
        if state == "connected" and self.state == "connecting":
            self.state = "connected"
        elif state in ("failed", "closed") and self.state != "closed":
            await self.end(f"peer_{state}")

    # -- events out -------------------------------------------------------------------------

    @staticmethod
    def _server_event(event: dict[str, Any]) -> dict[str, Any]:
        """The event with its id, checked to be a GA server event (~5-60 µs: cheap enough to always run)."""
        full = {"type": event["type"], "event_id": new_id("event_"), **event}
        validate_server_event(full)
        return full

    def emit(self, event: dict[str, Any]) -> None:
        """Send a server event to the data channel and every sideband: the same JSON, the same event_id."""
        full = self._server_event(event)
        text = self._emit_to_channel(full)
        if self.state != "closed":
            self.sidebands.broadcast(text)

    def _emit_to_channel(self, event: dict[str, Any]) -> str:
        full = event if "event_id" in event else self._server_event(event)
        if len(self.server_events) < MAX_LOGGED_EVENTS:
            self.server_events.append(full)
        text = json.dumps(full)
        channel = self._channel
        if channel is not None and channel.readyState == "open" and self.state != "closed":
            channel.send(text)
        return text

    def _reply_on_channel(self, event: dict[str, Any]) -> None:
        self._emit_to_channel(event)

    def _emit_to_sideband(self, event: dict[str, Any], sideband: Sideband) -> None:
        sideband.send(json.dumps(self._server_event(event)))

    # -- control ----------------------------------------------------------------------------

    def drop(self) -> None:
        """Blackhole the call's packets both ways: the peer lives on, but nothing gets through."""
        if self._relay is not None and self.state != "closed":
            self._relay.blackhole()
            self.state = "dropped"

    def _expire(self) -> None:
        self._expired = True
        self.realtime.error(session_expired_message(self._options.session_max_seconds), "session_expired")
        self._spawn(self._end_after_flush("session_expired"))

    async def _end_after_flush(self, reason: str) -> None:
        await self._close_events_channel(timeout=1.0)
        await self.end(reason)

    async def _close_events_channel(self, timeout: float) -> None:
        """Close `oai-events` as a browser would, and wait until the peer has had every event.

        The close is an SCTP stream reset, sent after every queued message; the peer performs it
        only once it has received them all (RFC 8831 section 6.7, RFC 6525), and the channel reads
        `closed` then. So the peer connection can close next without losing the last event.
        """
        channel = self._channel
        if channel is None or channel.readyState != "open":
            return
        closed = asyncio.Event()
        channel.on("close", closed.set)
        channel.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(closed.wait(), timeout)

    async def end(self, reason: str) -> None:
        if self.state == "closed":
            return
        self.state = "closed"
        self.end_reason = reason
        self.ended_at = time.time()
        for timer in (self._expiry, self._connect_deadline):
            if timer is not None:
                timer.cancel()
        self.realtime.close()
        self.voice.stop()
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        await self._pc.close()
        if self._relay is not None:
            self._relay.close()
        # After the browser's side: a companion that sees the close finds the call ended.
        await self.sidebands.close_all(1000, call_ended=True)
        logger.info("call ended", extra={"call_id": self.id, "reason": reason})

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        spawn(coro, self._tasks)

    # -- state for the control API ----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "created_at": self.created_at,
            "answered_at": self.answered_at,
            "ended_at": self.ended_at,
            "end_reason": self.end_reason,
            "ended_by": ENDED_BY.get(self.end_reason, self.end_reason) if self.end_reason else None,
            "sidebands": self.sidebands.snapshot(),
            "function_calls": self.realtime.function_calls.snapshot(),
            "ek_sha256": self.ek_sha256,
            "safety_identifier": self.safety_identifier,
            "session": self.realtime.session,
            "ice_state": self._pc.iceConnectionState,
            "data_channel_open": self._channel is not None and self._channel.readyState == "open",
            "mic_level": round(self.meter.level, 6),
            "mic_packets": self.meter.packets,
            "audio_frames_sent": self.voice.frames_sent,
            "assistant_speaking": self.voice.speaking,
            "relay": self._relay.counters.as_dict() if self._relay else None,
            "conversation": self.realtime.conversation.items(),
            "server_events": self.server_events,
            "client_events": self.realtime.client_events,
        }
