"""The sideband: one WebSocket to `…/v1/realtime?call_id=rtc_…` (Realtime) or
`…/v1/live/sessions/live_…/attach` (GPT-Live) with the API key, and its errors as ours.

websockets' sync client: no event loop to start at init, and its keepalive thread sends a ping every
PING_INTERVAL_SECONDS (field reports: idle sidebands drop at about 5 minutes). Server events arrive as
JSON text; `receive` hands them over one at a time, bounded by a timeout so the caller's timers run.

What can happen, as exceptions the session tells apart:
    CallOver        the handshake got 404 (unknown or ended call or session): finalise, never retry
    KeyRejected     401: the caller re-reads the key once
    SidebandDropped anything else (a refused or broken connection, a close other than 1000)
    SidebandClosed  the server closed with 1000: the call ended (hangup, browser gone, expiry)
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from vend.openai_api.live_close import is_reflected_audio
from vend.secret_values import OpenAIApiKey

PATH = "/v1/realtime"
PING_INTERVAL_SECONDS = 20.0  # at most 60 s by the issue; 20 s is websockets' default and ample
PING_TIMEOUT_SECONDS = 20.0
OPEN_TIMEOUT_SECONDS = 5.0
MAX_EVENT_BYTES = 4 * 1024 * 1024  # response.done carries the whole response (transcripts, items)
NORMAL_CLOSURE = 1000


class CallOver(Exception):
    """OpenAI knows no live call by that id (404 at the handshake)."""


class KeyRejected(Exception):
    """401 at the handshake: a rotated key."""


class SidebandDropped(Exception):
    """The connection failed or broke; `reason` is a code for the log (never a message from the wire)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SidebandClosed(Exception):
    """The server closed the sideband normally (1000): what it does when the call ends."""


def sideband_url(base_url: str, openai_call_id: str) -> str:
    """ws(s)://<host>/v1/realtime?call_id=…: wss for https, ws for the loopback stand-in's http."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, PATH, urlencode({"call_id": openai_call_id}), ""))


class Sideband:
    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection

    @classmethod
    def attach(
        cls, url: str, api_key: OpenAIApiKey, *, open_timeout: float = OPEN_TIMEOUT_SECONDS
    ) -> Sideband:
        try:
            connection = connect(
                url,
                additional_headers={"Authorization": f"Bearer {api_key.reveal()}"},
                open_timeout=open_timeout,
                ping_interval=PING_INTERVAL_SECONDS,
                ping_timeout=PING_TIMEOUT_SECONDS,
                close_timeout=1,
                max_size=MAX_EVENT_BYTES,
                compression=None,  # JSON events are small; deflate costs CPU at a fraction of a vCPU
                proxy=None,
                legacy=True,  # connected directly: the session closes it (a `with` cannot span re-attaches)
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == 404:
                raise CallOver from None
            if status == 401:
                raise KeyRejected from None
            raise SidebandDropped(f"handshake_{status}") from None
        except Exception as exc:  # DNS, refused, TLS, timeout: all worth another attempt
            raise SidebandDropped(f"connect_{type(exc).__name__}") from None
        return cls(connection)

    def receive(self, timeout: float) -> dict[str, Any] | None:
        """The next server event, or None if none came within `timeout` seconds (or it was not JSON).

        GPT-Live's reflected audio (about 20 messages a second, none of them the companion's business)
        is skipped by a look at the message's ends, unparsed, and the wait goes on for the rest."""
        end = time.monotonic() + max(0.0, timeout)
        while True:
            try:
                message = self._connection.recv(timeout=max(0.0, end - time.monotonic()))
            except TimeoutError:
                return None
            except ConnectionClosed as exc:
                raise _closed(exc) from None
            if isinstance(message, bytes) or not is_reflected_audio(message):
                break
        if isinstance(message, bytes):
            return None
        try:
            event = json.loads(message)
        except ValueError:
            return None
        return event if isinstance(event, dict) else None

    def send(self, event: dict[str, Any]) -> None:
        """Send one client event (thread-safe: tool threads answer while the loop receives)."""
        try:
            self._connection.send(json.dumps(event))
        except ConnectionClosed as exc:
            raise _closed(exc) from None

    def close(self) -> None:
        self._connection.close()


def _closed(exc: ConnectionClosed) -> Exception:
    received = exc.rcvd
    if received is not None and received.code == NORMAL_CLOSURE:
        return SidebandClosed()
    return SidebandDropped(f"closed_{received.code if received is not None else 'abnormally'}")
