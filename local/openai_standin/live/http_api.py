"""GPT-Live's REST endpoints: `POST /v1/live/sessions` (create = start, JSON in and out) and
`POST /v1/live/sessions/{id}/hangup` (documented for SIP only; see the `live_webrtc_hangup` option)."""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from ..errors import ApiError, injected_failure, invalid_api_key
from ..http_api import bearer_token
from ..registry import STANDIN
from ..sdp import InvalidSdp
from ..strict import StrictValidationError
from .create_request import validate_create
from .live_call import LiveCall

routes = web.RouteTableDef()


def session_not_found() -> ApiError:
    return ApiError(404, "Live session not found.", param="session_id", code="session_not_found")


@routes.post("/v1/live/sessions")
async def create_session(request: web.Request) -> web.Response:
    standin = request.app[STANDIN]
    options = standin.options
    # Charged like the Realtime create: the same latency and failure injection.
    if options.calls_delay_ms > 0:
        await asyncio.sleep(options.calls_delay_ms / 1000)
    if options.calls_status is not None:
        raise injected_failure(options.calls_status)
    if bearer_token(request) != options.api_key:
        raise invalid_api_key()
    if request.content_type != "application/json":
        raise ApiError(
            400,
            f"Unsupported content type: '{request.content_type}'. Send application/json.",
            code="unsupported_content_type",
        )
    try:
        body = json.loads(await request.text())
    except ValueError:
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. Please send valid JSON.",
            code="invalid_json",
        ) from None
    try:
        validated = validate_create(body)
    except StrictValidationError as exc:
        raise ApiError(400, exc.message, param=exc.param, code=exc.code) from None
    call = LiveCall(validated, options)
    try:
        answer = await call.answer(validated["transport"]["sdp"])
    except InvalidSdp as exc:
        raise ApiError(400, str(exc), param="transport.sdp", code="invalid_offer") from None
    standin.add_live_session(call)
    call.answered_at = time.time()
    return web.json_response(
        {"session": {"id": call.id}, "transport": {"type": "webrtc", "sdp": answer}}, status=201
    )


@routes.post("/v1/live/sessions/{session_id}/hangup")
async def hangup(request: web.Request) -> web.Response:
    standin = request.app[STANDIN]
    if bearer_token(request) != standin.options.api_key:
        raise invalid_api_key()
    call = standin.live_sessions.get(request.match_info["session_id"])
    if call is None or call.ended:
        raise session_not_found()
    call.hangups_received += 1
    if standin.options.live_webrtc_hangup == "honoured":
        await call.close("close_requested", ended_by="hangup")
    return web.Response(status=200)
