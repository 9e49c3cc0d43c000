"""A real WebSocket server with OpenAI's sideband semantics, for the companion's tests (the local
stack's stand-in serves the same path; this one runs inside the test process, so that a test can
script server events, drop a connection and see exactly what the companion sent).

    GET /v1/realtime?call_id=rtc_…, Authorization: Bearer <key>
    401 for another key; 404 call_id_not_found for an unknown or ended call; otherwise attached.
    `emit` sends a server event to every sideband of the call; `hang_up` ends the call and closes
    its sidebands with 1000; `drop` breaks them (1011) while the call goes on.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
from pydantic import TypeAdapter, ValidationError
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

# Every event, both ways, is checked against openai-python's realtime types.
SERVER_EVENT: TypeAdapter[Any] = TypeAdapter(RealtimeServerEvent)
CLIENT_EVENT: TypeAdapter[Any] = TypeAdapter(RealtimeClientEvent)


@dataclass
class _Call:
    live: bool = True
    sockets: list[ServerConnection] = field(default_factory=list)
    attaches: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    hung_up_at: float | None = None


class FakeSideband:
    def __init__(self, api_key: str) -> None:
        self._key = api_key
        self._lock = threading.Lock()
        self._calls: dict[str, _Call] = {}
        self.refused: list[int] = []
        self.invalid: list[str] = []  # client events that are not OpenAI's (the fixture asserts none)
        self._server: Server = serve(
            self._serve, "127.0.0.1", 0, process_request=self._check, compression=None
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL is for the loopback stand-in."""
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self._server.shutdown()

    def open_call(self, openai_call_id: str) -> None:
        with self._lock:
            self._calls[openai_call_id] = _Call()

    def emit(self, openai_call_id: str, event: dict[str, Any]) -> int:
        """Send a server event to every attached sideband; how many got it."""
        SERVER_EVENT.validate_python(event)  # a test scripts only events OpenAI sends
        with self._lock:
            sockets = list(self._calls[openai_call_id].sockets)
        sent = 0
        for socket in sockets:
            try:
                socket.send(json.dumps(event))
                sent += 1
            except ConnectionClosed:
                pass
        return sent

    def hang_up(self, openai_call_id: str) -> bool:
        """End the call (OpenAI's hangup): True if it was live."""
        with self._lock:
            call = self._calls.get(openai_call_id)
            if call is None or not call.live:
                return False
            call.live, call.hung_up_at = False, time.time()
            sockets = list(call.sockets)
        for socket in sockets:
            socket.close(1000)
        return True

    def drop(self, openai_call_id: str) -> None:
        with self._lock:
            sockets = list(self._calls[openai_call_id].sockets)
        for socket in sockets:
            socket.close(1011)

    def attached(self, openai_call_id: str) -> int:
        with self._lock:
            return len(self._calls[openai_call_id].sockets)

    def attaches(self, openai_call_id: str) -> int:
        with self._lock:
            return self._calls[openai_call_id].attaches

    def hung_up_at(self, openai_call_id: str) -> float | None:
        with self._lock:
            return self._calls[openai_call_id].hung_up_at

    def received(self, openai_call_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._calls[openai_call_id].received)

    def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                raise AssertionError("the condition did not become true in time")
            time.sleep(0.01)

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        call_id = parse_qs(parts.query).get("call_id", [""])[0]
        if parts.path != "/v1/realtime" or request.headers.get("Authorization") != f"Bearer {self._key}":
            self.refused.append(401)
            return _json_response(
                401, {"error": {"type": "invalid_request_error", "code": "invalid_api_key"}}
            )
        with self._lock:
            call = self._calls.get(call_id)
            live = call is not None and call.live
        if not live:
            self.refused.append(404)
            return _json_response(
                404,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "call_id_not_found",
                        "message": "Call not found.",
                    }
                },
            )
        return None

    def _serve(self, connection: ServerConnection) -> None:
        call_id = parse_qs(urlsplit(connection.request.path if connection.request else "").query)["call_id"][
            0
        ]
        with self._lock:
            call = self._calls[call_id]
            call.sockets.append(connection)
            call.attaches += 1
        try:
            for message in connection:
                event = json.loads(message)
                try:
                    CLIENT_EVENT.validate_python(event)
                except ValidationError as error:
                    self.invalid.append(f"{event.get('type')}: {error.error_count()} errors")
                with self._lock:
                    call.received.append(event)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                call.sockets.remove(connection)


def _json_response(status: int, body: dict[str, Any]) -> Response:
    data = json.dumps(body).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return Response(status, HTTPStatus(status).phrase, headers, data)
