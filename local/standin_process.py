"""The OpenAI stand-in in a child interpreter, for the local stack.

Importing the stand-in (the OpenAI SDK's types, aiortc) takes about two seconds of CPU; in a child it
runs on another core while the stack starts moto and the handler. The key travels over the
child's stdin (never its command line, which `ps` shows); the child answers one JSON line with its
port and exits when its stdin closes, so it never outlives the stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from local.child_process import PipedChild

_REPO = Path(__file__).resolve().parent.parent


class StandinProcess:
    """`start()` blocks until the stand-in serves on `host`; then `url` (no trailing slash)."""

    def __init__(
        self,
        api_key: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        session_max_seconds: float = 3600.0,
        live_options: Mapping[str, object] | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self._api_key = api_key
        self._host = host
        self._port = port
        self._session_max_seconds = session_max_seconds
        self._live_options = dict(live_options or {})
        self._timeout = startup_timeout
        self._child: PipedChild | None = None
        self.url = ""

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "local.standin_process",
            "--host",
            self._host,
            "--port",
            str(self._port),
        ]
        command += ["--session-max-seconds", repr(self._session_max_seconds)]
        child = PipedChild(command, cwd=_REPO, what="the OpenAI stand-in", stop_timeout=10.0)
        seeds = {"api_key": self._api_key, "options": self._live_options}
        ready = child.start(self._timeout, seeds=seeds)
        self._child = child
        port = int(ready["port"])
        self.url = f"http://{f'[{self._host}]' if ':' in self._host else self._host}:{port}"

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.stop()


async def _serve(host: str, port: int, session_max_seconds: float) -> None:
    from aiohttp import web  # noqa: PLC0415

    from local.openai_standin import StandinOptions, create_app  # noqa: PLC0415
    from local.openai_standin.options import apply_patch  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    seeds = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
    options = StandinOptions(api_key=seeds["api_key"], session_max_seconds=session_max_seconds)
    # The stack's GPT-Live options, checked as the control API checks a patch (OptionsError names one
    # the stand-in does not know)
    apply_patch(options, seeds.get("options") or {})
    runner = web.AppRunner(create_app(options), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        print(json.dumps({"port": int(runner.addresses[0][1])}), flush=True)
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes the pipe (or dies)
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m local.standin_process", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--session-max-seconds", type=float, default=3600.0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.session_max_seconds))
