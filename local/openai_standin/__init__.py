"""A local stand-in for OpenAI's GA Realtime API: REST endpoints plus a real WebRTC peer.

Dev and test only: binds loopback, never talks to OpenAI.

    app = create_app(StandinOptions(api_key="sk-local-..."))   # serve on 127.0.0.1:<port>
    app[STANDIN]                                              # the live state, in process

OpenAI's endpoints: POST /v1/realtime/client_secrets, POST /v1/realtime/calls (application/sdp
with an ek_, or multipart sdp+session with the sk-), POST /v1/realtime/calls/{id}/hangup, and
the sideband GET /v1/realtime?call_id=rtc_… (a WebSocket). GPT-Live (see live/__init__.py):
POST /v1/live/sessions, POST /v1/live/sessions/{id}/hangup, and the sideband
GET /v1/live/sessions/{id}/attach.
Control API for tests: GET /__standin/state, PATCH /__standin/options, POST /__standin/drop,
POST /__standin/sidebands/drop, POST /__standin/reset, POST /__standin/clock.
"""

from __future__ import annotations

from .app import create_app
from .options import StandinOptions
from .registry import STANDIN, Standin
from .server_events import InvalidServerEvent, validate_server_event

__all__ = [
    "STANDIN",
    "InvalidServerEvent",
    "Standin",
    "StandinOptions",
    "create_app",
    "validate_server_event",
]
