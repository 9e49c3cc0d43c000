"""A real WebSocket server with GPT-Live's sideband semantics, for the companion's tests before (and
beside) the local stand-in: it runs in the test process, so a test can script server events, drop a
connection, and see exactly what the companion sent.

    GET /v1/live/sessions/{id}/attach, Authorization: Bearer <key>
    401 for another key; 404 session_not_found for an unknown or ended session; otherwise attached.
    `emit` sends a server event to every sideband of the session (checked against openai.types.live's
    ConnectServerEvent, and a `response.event`'s nested event against openai.types.responses'
    ResponseStreamEvent); `end` ends the session as GPT-Live does (`session.closed`, then 1000);
    `drop` breaks the sidebands (1011) while the session goes on. A client `session.close` ends it with
    reason close_requested and the session's usage at that moment.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from openai.types.live import ConnectClientEvent, ConnectServerEvent
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter, ValidationError
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

SERVER_EVENT: TypeAdapter[Any] = TypeAdapter(ConnectServerEvent)
CLIENT_EVENT: TypeAdapter[Any] = TypeAdapter(ConnectClientEvent)
RESPONSE_EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
_PREFIX, _SUFFIX = "/v1/live/sessions/", "/attach"


@dataclass
class _Session:
    usage: dict[str, Any]
    live: bool = True
    sockets: list[ServerConnection] = field(default_factory=list)
    attaches: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    closed_at: float | None = None
    reason: str | None = None


class FakeLiveSideband:
    def __init__(self, api_key: str, *, reflect_audio: bool = False) -> None:
        self._key = api_key
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._events = 0
        self.invalid: list[str] = []  # client events that are not GPT-Live's (the fixture asserts none)
        self.refuse_until = 0.0  # time.time() before which every attach is answered 503 (an outage)
        self.refused: list[int] = []
        self._server: Server = serve(
            self._serve, "127.0.0.1", 0, process_request=self._check, compression=None
        )
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self._reflecting = reflect_audio
        if reflect_audio:
            threading.Thread(target=self._reflect, daemon=True).start()

    @property
    def base_url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self._reflecting = False
        self._server.shutdown()

    def open_session(self, session_id: str) -> None:
        with self._lock:
            self._sessions[session_id] = _Session(
                usage={"seconds": 15.0, "active_seconds": 15, "paused_seconds": 0}
            )

    def event_id(self) -> str:
        with self._lock:
            self._events += 1
            return f"event_{self._events:06d}"

    def emit(self, session_id: str, event: dict[str, Any]) -> int:
        """Send a server event to every attached sideband; how many got it."""
        event = {"event_id": self.event_id(), **event}
        SERVER_EVENT.validate_python(event)  # a test scripts only events GPT-Live sends
        if event["type"] == "response.event":
            RESPONSE_EVENT.validate_python(event["event"])
        if event["type"] == "session.usage.updated":
            with self._lock:
                self._sessions[session_id].usage = dict(event["usage"])
        return self._send(session_id, json.dumps(event))

    def end(self, session_id: str, reason: str, *, client_event_id: str | None = None) -> bool:
        """End the session as GPT-Live does: session.closed with the final usage, then 1000."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or not session.live:
                return False
            session.live, session.closed_at, session.reason = False, time.time(), reason
            usage = dict(session.usage)
        closed = {
            "type": "session.closed",
            "event_id": self.event_id(),
            "reason": reason,
            "session": session_resource(session_id),
            "usage": usage,
            **({"client_event_id": client_event_id} if client_event_id else {}),
        }
        SERVER_EVENT.validate_python(closed)
        self._send(session_id, json.dumps(closed))
        with self._lock:
            sockets = list(session.sockets)
        for socket in sockets:
            socket.close(1000)
        return True

    def set_usage(self, session_id: str, usage: dict[str, Any]) -> None:
        """The usage session.closed will report (as if time went on without an update)."""
        with self._lock:
            self._sessions[session_id].usage = dict(usage)

    def drop(self, session_id: str) -> None:
        with self._lock:
            sockets = list(self._sessions[session_id].sockets)
        for socket in sockets:
            socket.close(1011)

    def attached(self, session_id: str) -> int:
        with self._lock:
            return len(self._sessions[session_id].sockets)

    def attaches(self, session_id: str) -> int:
        with self._lock:
            return self._sessions[session_id].attaches

    def closed_at(self, session_id: str) -> float | None:
        with self._lock:
            return self._sessions[session_id].closed_at

    def reason(self, session_id: str) -> str | None:
        with self._lock:
            return self._sessions[session_id].reason

    def received(self, session_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._sessions[session_id].received)

    def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                raise AssertionError("the condition did not become true in time")
            time.sleep(0.01)

    def _send(self, session_id: str, message: str) -> int:
        with self._lock:
            sockets = list(self._sessions[session_id].sockets)
        sent = 0
        for socket in sockets:
            try:
                socket.send(message)
                sent += 1
            except ConnectionClosed:
                pass
        return sent

    def _reflect(self) -> None:
        """GPT-Live reflects the session's audio to sidebands: 100 ms chunks each way (20 a second)."""
        chunk = "A" * 6400  # 100 ms of PCM16 at 24 kHz is 4,800 bytes: 6,400 in base64
        start = time.monotonic()
        while self._reflecting:
            with self._lock:
                live = [sid for sid, s in self._sessions.items() if s.live and s.sockets]
            ms = int((time.monotonic() - start) * 1000)
            for session_id in live:
                self._send(session_id, json.dumps({"type": "session.input_audio.append", "audio": chunk}))
                out = {
                    "type": "session.output_audio.delta",
                    "delta": chunk,
                    "start_ms": ms,
                    "end_ms": ms + 100,
                }
                self._send(session_id, json.dumps(out))
            time.sleep(0.1)

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if time.time() < self.refuse_until:
            self.refused.append(503)
            return _json_response(503, {"error": {"type": "server_error", "code": None}})
        if request.headers.get("Authorization") != f"Bearer {self._key}":
            return _json_response(
                401, {"error": {"type": "invalid_request_error", "code": "invalid_api_key"}}
            )
        session_id = (
            path[len(_PREFIX) : -len(_SUFFIX)] if path.startswith(_PREFIX) and path.endswith(_SUFFIX) else ""
        )
        with self._lock:
            session = self._sessions.get(session_id)
            live = session is not None and session.live
        if not live:
            return _json_response(
                404,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "session_not_found",
                        "message": "Session not found.",
                        "param": None,
                    }
                },
            )
        return None

    def _serve(self, connection: ServerConnection) -> None:
        path = (connection.request.path if connection.request else "").split("?", 1)[0]
        session_id = path[len(_PREFIX) : -len(_SUFFIX)]
        with self._lock:
            session = self._sessions[session_id]
            session.sockets.append(connection)
            session.attaches += 1
        try:
            for message in connection:
                event = json.loads(message)
                try:
                    CLIENT_EVENT.validate_python(event)
                except ValidationError as error:
                    self.invalid.append(f"{event.get('type')}: {error.error_count()} errors")
                with self._lock:
                    session.received.append(event)
                if event.get("type") == "session.close":
                    threading.Thread(
                        target=self.end,
                        args=(session_id, "close_requested"),
                        kwargs={"client_event_id": event.get("event_id")},
                        daemon=True,
                    ).start()
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                session.sockets.remove(connection)


def session_resource(session_id: str) -> dict[str, Any]:
    return {
        "id": session_id,
        "expires_at": int(time.time()) + 3600,
        "model": "gpt-live-1.1",
        "status": "active",
    }


def function_call_done(call_id: str, name: str, *, arguments: str = "{}") -> dict[str, Any]:
    """A backend's `response.output_item.done` with a function_call item, wrapped as GPT-Live does."""
    return {
        "type": "response.event",
        "delegation_id": "item_deleg1",
        "event": {
            "type": "response.output_item.done",
            "output_index": 0,
            "sequence_number": 3,
            "item": {
                "type": "function_call",
                "id": f"fc_item_{call_id}",
                "call_id": call_id,
                "name": name,
                "arguments": arguments,
                "status": "completed",
            },
        },
    }


def response_completed(
    response_id: str, *, model: str, input_tokens: int, cached: int, output_tokens: int, written: int = 0
) -> dict[str, Any]:
    """A backend's terminal `response.completed` snapshot (output emptied, tools empty, as GPT-Live sends)."""
    return {
        "type": "response.event",
        "delegation_id": "item_deleg1",
        "event": {
            "type": "response.completed",
            "sequence_number": 9,
            "response": {
                "id": response_id,
                "object": "response",
                "created_at": int(time.time()),
                "model": model,
                "status": "completed",
                "output": [],
                "tools": [],
                "instructions": None,
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "usage": {
                    "input_tokens": input_tokens,
                    "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
                    "output_tokens": output_tokens,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": input_tokens + output_tokens,
                },
            },
        },
    }


def usage_updated(seconds: float, *, active: int | None = None, paused: int | None = None) -> dict[str, Any]:
    usage: dict[str, Any] = {"seconds": seconds}
    if active is not None:
        usage["active_seconds"] = active
    if paused is not None:
        usage["paused_seconds"] = paused
    return {"type": "session.usage.updated", "usage": usage}


def transcript(delta: str, start_ms: int) -> dict[str, Any]:
    return {
        "type": "session.output_transcript.delta",
        "delta": delta,
        "start_ms": start_ms,
        "end_ms": start_ms + 400,
    }


def _json_response(status: int, body: dict[str, Any]) -> Response:
    data = json.dumps(body).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return Response(status, HTTPStatus(status).phrase, headers, data)
