"""Ending a GPT-Live WebRTC session from the server: attach a sideband briefly, send `session.close`,
and wait for `session.closed` (or the sideband's close, which follows it) within the deadline.

GPT-Live documents `session.close` over a sideband as the server's way to end a WebRTC session;
`POST /v1/live/sessions/{id}/hangup` is documented for SIP only, so nothing here relies on it.

    GET ws(s)://<host>/v1/live/sessions/{id}/attach   Authorization: Bearer <key>
    404 before the upgrade: no such session (ended, or never created) → False, nothing to close.

The sideband reflects the session's audio (about 20 messages a second): `is_reflected_audio` lets a
reader skip those by a look at the message's ends, before any JSON parsing; they are never logged.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from vend.errors import UpstreamTimeout, UpstreamUnauthorized, UpstreamUnavailable
from vend.secret_values import OpenAIApiKey

CLOSE = {"type": "session.close"}
CLOSED = "session.closed"
MAX_EVENT_BYTES = 4 * 1024 * 1024  # session.closed carries the whole SessionResource
_REFLECTED = re.compile(r'"type"\s*:\s*"session\.(?:input_audio\.append|output_audio\.delta)"')
_ENDS = 96  # where a message's "type" sits: its start, or its end after a long base64 "audio"


def attach_url(base_url: str, session_id: str) -> str:
    """ws(s)://<host>/v1/live/sessions/{id}/attach: wss for https, ws for the loopback stand-in."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = f"/v1/live/sessions/{quote(session_id, safe='')}/attach"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def is_reflected_audio(message: str) -> bool:
    """Whether a sideband message is reflected audio, judged by its two ends only (cheap: no parse).

    A `"type":"…"` pair can only be a key of an object: inside a string its quotes are escaped."""
    return bool(
        _REFLECTED.search(message, 0, _ENDS) or _REFLECTED.search(message, max(0, len(message) - _ENDS))
    )


def close_live_session(
    base_url: str,
    api_key: OpenAIApiKey,
    session_id: str,
    *,
    deadline: float,
    on_event: Callable[[Mapping[str, Any]], None] | None = None,
) -> bool:
    """End the session; True if it was live, False if GPT-Live knows it no more (404 at attach).

    `deadline` is a time.monotonic() value. `on_event` sees every event but reflected audio (the
    companion meters `session.closed`'s final usage with it). Raises UpstreamUnauthorized on a 401,
    UpstreamUnavailable if the sideband cannot be had, UpstreamTimeout if the session did not confirm
    its end in time (it may still be live: the caller's backstop must still apply)."""
    try:
        connection = connect(
            attach_url(base_url, session_id),
            additional_headers={"Authorization": f"Bearer {api_key.reveal()}"},
            open_timeout=max(0.1, deadline - time.monotonic()),
            close_timeout=1,
            max_size=MAX_EVENT_BYTES,
            compression=None,
            proxy=None,
            legacy=True,  # connected directly: closed in the `finally` below
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status == 404:
            return False
        if status == 401:
            raise UpstreamUnauthorized("openai_rejected_key", upstream_status=401) from None
        raise UpstreamUnavailable(f"openai_live_attach_{status}", upstream_status=status) from None
    except Exception as exc:  # DNS, refused, TLS, timeout
        raise UpstreamUnavailable(f"openai_live_attach_{type(exc).__name__}") from None
    try:
        connection.send(json.dumps(CLOSE))
        if not wait_closed(connection, deadline, on_event):
            raise UpstreamTimeout("openai_live_close_unconfirmed")
    except ConnectionClosed:
        pass  # the sideband closing is the session's end
    finally:
        connection.close()
    return True


def wait_closed(
    connection: ClientConnection, deadline: float, on_event: Callable[[Mapping[str, Any]], None] | None
) -> bool:
    """Read until `session.closed` or the sideband's close (True), or the deadline (False)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            message = connection.recv(timeout=left)
        except TimeoutError:
            return False
        except ConnectionClosed:
            return True
        if isinstance(message, bytes) or is_reflected_audio(message):
            continue
        try:
            event = json.loads(message)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if on_event is not None:
            on_event(event)
        if event.get("type") == CLOSED:
            return True
