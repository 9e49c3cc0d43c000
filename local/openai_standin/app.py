"""The aiohttp application: OpenAI's endpoints, the control API, CORS, cleanup."""

from __future__ import annotations

from aiohttp import web

from . import control_api, http_api, sideband_api
from .cors import cors_middleware
from .live import attach_api as live_attach_api
from .live import http_api as live_http_api
from .live.server_events import build_live_validators
from .options import StandinOptions
from .registry import STANDIN, Standin
from .server_events import build_validators
from .voice import speech_loop


def create_app(options: StandinOptions) -> web.Application:
    # Pay one-off costs at start-up rather than inside the first call.
    speech_loop()
    build_validators()
    build_live_validators()
    app = web.Application(middlewares=[cors_middleware, http_api.api_errors])
    app[STANDIN] = Standin(options)
    app.add_routes(http_api.routes)
    app.add_routes(sideband_api.routes)
    app.add_routes(live_http_api.routes)
    app.add_routes(live_attach_api.routes)
    app.add_routes(control_api.routes)
    app.on_cleanup.append(_close_calls)
    return app


async def _close_calls(app: web.Application) -> None:
    await app[STANDIN].close_calls("shutdown")
