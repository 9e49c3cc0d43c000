"""`python -m local.openai_standin --port 8765 --api-key sk-local-…`: run the stand-in alone."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal

from aiohttp import web

from . import StandinOptions, create_app
from .options import WEBRTC_HANGUP_CHOICES


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.openai_standin", description=__doc__)
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("STANDIN_API_KEY", "sk-local-standin"),
        help="the only sk- key accepted (default: $STANDIN_API_KEY or sk-local-standin)",
    )
    parser.add_argument("--session-max-seconds", type=float, default=3600.0)
    parser.add_argument("--media-delay-ms", type=int, default=0)
    live = parser.add_argument_group("GPT-Live (/v1/live/sessions)")
    live.add_argument(
        "--live-usage-interval-seconds",
        type=float,
        default=60.0,
        help="seconds between session.usage.updated events (default 60, about OpenAI's cadence)",
    )
    live.add_argument(
        "--live-max-session-seconds",
        type=float,
        default=3600.0,
        help="a Live session's duration limit, its expires_at (default 3600; OpenAI documents none)",
    )
    live.add_argument(
        "--live-reflect-audio",
        choices=("on", "off"),
        default="on",
        help="reflect microphone and voice audio to sidebands in 100 ms chunks, as OpenAI does (default on)",
    )
    live.add_argument(
        "--live-webrtc-hangup",
        choices=WEBRTC_HANGUP_CHOICES,
        default="ignored",
        help="POST /v1/live/sessions/{id}/hangup on a WebRTC session (documented for SIP only): "
        "ignored (default: 200, nothing happens) or honoured (the session closes, close_requested)",
    )
    return parser.parse_args()


async def _serve(args: argparse.Namespace) -> None:
    options = StandinOptions(
        api_key=args.api_key,
        session_max_seconds=args.session_max_seconds,
        media_delay_ms=args.media_delay_ms,
        live_usage_interval_seconds=args.live_usage_interval_seconds,
        live_max_session_seconds=args.live_max_session_seconds,
        live_reflect_audio=args.live_reflect_audio == "on",
        live_webrtc_hangup=args.live_webrtc_hangup,
    )
    runner = web.AppRunner(create_app(options), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    await site.start()
    port = runner.addresses[0][1]
    print(f"OpenAI Realtime stand-in on http://127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    args = _parse_args()
    if not args.api_key.startswith("sk-"):
        raise SystemExit("--api-key must start with 'sk-'")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
