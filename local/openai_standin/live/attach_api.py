"""The Live sideband: `GET /v1/live/sessions/{id}/attach` upgraded to a WebSocket.

The project's key only; an unknown or ended session answers 404 `session_not_found` before the
upgrade. `graceful_close` is accepted (the stand-in always closes with the handshake).
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import WSMsgType, web

from ..errors import ApiError, invalid_api_key
from ..http_api import bearer_token
from ..registry import STANDIN
from ..sidebands import PingRecordingWebSocket, Sideband
from .http_api import session_not_found

routes = web.RouteTableDef()
_BOOLEANS = ("true", "false")


@routes.get("/v1/live/sessions/{session_id}/attach")
async def attach(request: web.Request) -> web.StreamResponse:
    standin = request.app[STANDIN]
    if standin.options.sideband_delay_ms:
        await asyncio.sleep(standin.options.sideband_delay_ms / 1000)
    if bearer_token(request) != standin.options.api_key:
        raise invalid_api_key()
    graceful = request.query.get("graceful_close")
    if graceful is not None and graceful not in _BOOLEANS:
        raise ApiError(
            400,
            "Invalid value for 'graceful_close': expected true or false.",
            param="graceful_close",
            code="invalid_value",
        )
    call = standin.live_sessions.get(request.match_info["session_id"])
    if call is None or call.ended:
        raise session_not_found()
    ws = PingRecordingWebSocket(autoping=True)
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "Expected a WebSocket upgrade request.", code="invalid_request")
    await ws.prepare(request)
    connection = Sideband(ws)
    if not call.sidebands.attach(connection):
        await ws.close(code=1000)  # the session ended during the handshake
        return ws
    writer = asyncio.get_running_loop().create_task(connection.write_loop())
    try:
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                call.receive_from_sideband(message.data, connection)
            elif message.type is WSMsgType.BINARY:
                call.receive_from_sideband(message.data.decode("utf-8", "replace"), connection)
    finally:
        call.sidebands.detach(connection)
        connection.close(ws.close_code or 1000)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(connection.closed.wait()), 1.0)
        writer.cancel()
    return ws
