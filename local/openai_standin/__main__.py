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
    return parser.parse_args()


async def _serve(args: argparse.Namespace) -> None:
    options = StandinOptions(
        api_key=args.api_key, session_max_seconds=args.session_max_seconds, media_delay_ms=args.media_delay_ms
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
