"""The stand-in's own API for tests and the local stack (not OpenAI's): /__standin/…"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .call import Call
from .live.live_call import LiveCall
from .options import OptionsError, apply_patch
from .registry import STANDIN

routes = web.RouteTableDef()


async def _json_body(request: web.Request, default: Any) -> Any:
    raw = await request.text()
    if not raw.strip():
        return default
    try:
        return json.loads(raw)
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "body must be JSON"}', content_type="application/json"
        ) from None


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


@routes.get("/__standin/state")
async def state(request: web.Request) -> web.Response:
    return web.json_response(request.app[STANDIN].snapshot())


@routes.patch("/__standin/options")
async def patch_options(request: web.Request) -> web.Response:
    standin = request.app[STANDIN]
    try:
        apply_patch(standin.options, await _json_body(request, None))
    except OptionsError as exc:
        return _bad_request(str(exc))
    for call in standin.active_calls():
        call.schedule_expiry()  # a new session_max_seconds applies to running calls too
    return web.json_response(standin.options.as_public_dict())


async def _targets(request: web.Request) -> list[Call | LiveCall] | web.Response:
    """The call a control body names (`{"call_id": "rtc_…"}`, or a Live session's `live_…` id), every
    active call and Live session without one, or a 404."""
    standin = request.app[STANDIN]
    body = await _json_body(request, {})
    call_id = body.get("call_id") if isinstance(body, dict) else None
    if call_id is None:
        return [*standin.active_calls(), *standin.active_live_sessions()]
    call: Call | LiveCall | None = standin.calls.get(call_id) or standin.live_sessions.get(call_id)
    if call is None:
        return web.json_response({"error": f"no call {call_id!r}"}, status=404)
    return [call]


@routes.post("/__standin/drop")
async def drop(request: web.Request) -> web.Response:
    """Blackhole one call (`{"call_id": "rtc_…"}`) or every active call (no body)."""
    targets = await _targets(request)
    if isinstance(targets, web.Response):
        return targets
    for call in targets:
        call.drop()
    return web.json_response({"dropped": [call.id for call in targets]})


@routes.post("/__standin/sidebands/drop")
async def drop_sidebands(request: web.Request) -> web.Response:
    """Close the sidebands of one call (`{"call_id": "rtc_…"}`) or of every call with 1001, as a
    proxy restart does: the call goes on, and a companion must re-attach by call id."""
    targets = await _targets(request)
    if isinstance(targets, web.Response):
        return targets
    closed = {call.id: await call.sidebands.close_all(1001, call_ended=False) for call in targets}
    return web.json_response({"closed": closed})


@routes.post("/__standin/reset")
async def reset(request: web.Request) -> web.Response:
    await request.app[STANDIN].reset()
    return web.json_response({"reset": True})


@routes.post("/__standin/clock")
async def advance_clock(request: web.Request) -> web.Response:
    """Move the stand-in's clock forward (`{"advance_seconds": 601}`) to expire client secrets now."""
    standin = request.app[STANDIN]
    body = await _json_body(request, {})
    seconds = body.get("advance_seconds") if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return _bad_request("advance_seconds must be a non-negative number")
    standin.clock.offset += float(seconds)
    return web.json_response({"clock_offset_seconds": standin.clock.offset})
