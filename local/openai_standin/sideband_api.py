"""The sideband: `GET /v1/realtime?call_id=rtc_…` upgraded to a WebSocket on a live call's session.

As OpenAI serves it for the server that created the call: a standard API key only; a call created
with a client secret, or an `ek_` key, answers 404 `call_id_not_found` (OpenAI since 2026-09), as
an unknown or ended call does, before the upgrade. A `model` query is ignored with a call_id.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import WSMsgType, web

from .errors import ApiError, invalid_api_key
from .http_api import bearer_token, reject_beta_header
from .registry import STANDIN
from .sidebands import PingRecordingWebSocket, Sideband

routes = web.RouteTableDef()


def _call_not_found() -> ApiError:
    return ApiError(404, "No call found with the given call_id.", param="call_id", code="call_id_not_found")


@routes.get("/v1/realtime")
async def sideband(request: web.Request) -> web.StreamResponse:
    standin = request.app[STANDIN]
    if standin.options.sideband_delay_ms:
        await asyncio.sleep(standin.options.sideband_delay_ms / 1000)
    token = bearer_token(request)
    if token.startswith("ek_"):
        raise _call_not_found()
    if token != standin.options.api_key:
        raise invalid_api_key()
    reject_beta_header(request)
    call_id = request.query.get("call_id")
    if not call_id:
        raise ApiError(
            400,
            "Missing required parameter: 'call_id'. This stand-in serves /v1/realtime as a sideband only.",
            param="call_id",
            code="missing_required_parameter",
        )
    call = standin.calls.get(call_id)
    if call is None or call.state == "closed" or call.ek_sha256 is not None:
        raise _call_not_found()
    ws = PingRecordingWebSocket(autoping=True)
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "Expected a WebSocket upgrade request.", code="invalid_request")
    await ws.prepare(request)
    connection = Sideband(ws)
    if not call.sidebands.attach(connection):
        await ws.close(code=1000)  # the call ended during the handshake
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
        connection.close(ws.close_code or 1000)  # a no-op when the stand-in closed it first
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(connection.closed.wait()), 1.0)
        writer.cancel()
    return ws
