"""The whole product on one machine: page, API (the real Lambda handler), Secrets Manager and OpenAI.

    scripts/local                     # or: .venv/bin/python -m local.stack [--port 8000]

One process serves web/ at `/` under the production security headers (from template.yaml), a
generated config.json, and `/api/*` through the real `vend.app.lambda_handler` behind an API Gateway
HTTP API (payload 2.0) adapter. Secrets Manager is moto's server, seeded with the OpenAI key. OpenAI
is the local stand-in on its own port (another origin, like api.openai.com) unless OPENAI_API_KEY is
set: then that key is seeded and the handler and the page talk to the real OpenAI.

Programs use `LocalStack` (an async context manager) or, from synchronous code such as pytest
fixtures, `StackProcess`, which runs this module in a child process: the handler reads its
environment once at import, so each stack gets a fresh interpreter.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from local.lambda_adapter import LambdaAdapter
from local.secrets_manager import REGION, SeededSecretsManager
from template_contract.page_headers import page_headers
from template_contract.reader import TEMPLATE, http_api_route_keys

REPO = Path(__file__).resolve().parent.parent
WEB_ROOT = REPO / "web"
OPENAI_ORIGIN = "https://api.openai.com"
SECRET_NAME = "realtime-vend/local/openai-api-key"  # noqa: S105 - a name, not a secret
# Anything else under /api is the handler's to answer (404/405), as with the template's routes.
DEFAULT_ROUTE_KEYS = ("POST /api/session", "ANY /api/session", "$default")


@dataclass
class StackOptions:
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    standin_port: int = 0
    # A real key makes the stack talk to OpenAI instead of the stand-in.
    openai_api_key: str | None = None
    # Round trip added to every /api request, as a network between browser and API Gateway would.
    api_latency_ms: float = 0.0
    # Extra static folders, e.g. {"/bench/": Path(...)} for the benchmark's reference page.
    extra_static: Mapping[str, Path] = field(default_factory=dict)
    # Stand-in knobs (see local.openai_standin.StandinOptions).
    session_max_seconds: float = 3600.0
    handler_env: Mapping[str, str] = field(default_factory=dict)
    # Where the page's security headers and the API routes are read from.
    template: Path = TEMPLATE


def _route_keys_from_template(template: Path) -> tuple[str, ...]:
    """The HttpApi routes the template declares; API Gateway answers 404 itself for anything else."""
    try:
        return http_api_route_keys(template) or DEFAULT_ROUTE_KEYS
    except Exception:
        return DEFAULT_ROUTE_KEYS


def _security_headers_middleware(headers: Mapping[str, str]) -> Any:
    @web.middleware
    async def add_headers(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as exc:
            response = exc
        # /api/* is API Gateway's behaviour in CloudFront; the page policy applies to the page.
        if not request.path.startswith("/api/"):
            response.headers.update(headers)
            response.headers.setdefault("Cache-Control", "no-cache")
        return response

    return add_headers


def _file_handler(path: Path) -> Callable[[web.Request], Any]:
    """Serves one file, e.g. a folder's index.html at the folder's URL."""

    async def serve(_: web.Request) -> web.FileResponse:
        return web.FileResponse(path)

    return serve


class LocalStack:
    """Starts moto, the stand-in (unless a real key is given), the handler and the page server."""

    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.url = ""
        self.standin_url: str | None = None
        self.realtime_origin = OPENAI_ORIGIN
        self.adapter: LambdaAdapter | None = None
        self._runners: list[web.AppRunner] = []
        self._secrets: SeededSecretsManager | None = None
        self._standin_options: Any = None

    @property
    def uses_openai(self) -> bool:
        return self.options.openai_api_key is not None

    async def __aenter__(self) -> LocalStack:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        opts = self.options
        api_key = opts.openai_api_key or f"sk-local-{secrets.token_urlsafe(24)}"
        if not self.uses_openai:
            self.standin_url = await self._start_standin(api_key)
            self.realtime_origin = self.standin_url
        base_url = self.standin_url or OPENAI_ORIGIN

        self._secrets = SeededSecretsManager(SECRET_NAME, api_key)
        await asyncio.to_thread(self._secrets.start)

        # In a thread: init's prefetch reaches the stand-in, which answers on this very event loop.
        handler = await asyncio.to_thread(
            self._import_handler,
            {
                "OPENAI_API_KEY_SECRET_ARN": self._secrets.arn,
                "OPENAI_BASE_URL": base_url,
                "AWS_ENDPOINT_URL_SECRETS_MANAGER": self._secrets.endpoint,
                **opts.handler_env,
            },
        )
        route_keys = _route_keys_from_template(opts.template)
        self.adapter = LambdaAdapter(handler, route_keys, latency_ms=opts.api_latency_ms)
        await self._start_page(self.adapter, f"{self.realtime_origin}/v1/realtime/calls")

    async def stop(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self._secrets is not None:
            await asyncio.to_thread(self._secrets.stop)
            self._secrets = None

    async def _start_standin(self, api_key: str) -> str:
        from local.openai_standin import StandinOptions, create_app  # noqa: PLC0415

        self._standin_options = StandinOptions(
            api_key=api_key, session_max_seconds=self.options.session_max_seconds
        )
        app = create_app(self._standin_options)
        port = await self._serve(app, self.options.standin_port)
        return f"http://{self.options.host}:{port}"

    @staticmethod
    def _import_handler(env: Mapping[str, str]) -> Callable[[dict[str, Any], Any], Mapping[str, Any]]:
        # The handler reads its environment once, at import, as in a Lambda execution environment.
        os.environ.update(
            {
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "POWERTOOLS_SERVICE_NAME": "realtime-vend-local",
                "POWERTOOLS_METRICS_NAMESPACE": "RealtimeVendLocal",
                **env,
            }
        )
        functions = str(REPO / "functions")
        if functions not in sys.path:
            sys.path.insert(0, functions)
        from vend.app import lambda_handler  # noqa: PLC0415

        return lambda_handler  # type: ignore[no-any-return]

    async def _start_page(self, adapter: LambdaAdapter, calls_url: str) -> None:
        headers = page_headers(self.realtime_origin, self.options.template)
        config = {"sessionUrl": "/api/session", "realtimeCallsUrl": calls_url}

        async def config_json(_: web.Request) -> web.Response:
            return web.json_response(config)

        async def control_faults(request: web.Request) -> web.Response:
            patch = await request.json()
            if not isinstance(patch, dict):
                raise web.HTTPBadRequest(text="body must be a JSON object")
            if "throttle_next" in patch:
                adapter.throttle_next(int(patch["throttle_next"]))
            if "crash_next" in patch:
                adapter.crash_next(int(patch["crash_next"]))
            if "api_latency_ms" in patch:
                adapter.latency_ms = float(patch["api_latency_ms"])
            if patch.get("reset"):
                adapter.reset_faults()
            return web.json_response({"ok": True})

        app = web.Application(middlewares=[_security_headers_middleware(headers)])
        app.router.add_get("/config.json", config_json)
        app.router.add_route("*", "/api/{tail:.*}", adapter.handle)
        # Fault injection for tests: API Gateway throttles and crashed invocations on demand.
        app.router.add_post("/__local/faults", control_faults)
        for prefix, folder in self.options.extra_static.items():
            if (folder / "index.html").is_file():
                app.router.add_get(prefix.rstrip("/") + "/", _file_handler(folder / "index.html"))
            app.router.add_static(prefix.rstrip("/"), folder, append_version=False)
        app.router.add_get("/", _file_handler(WEB_ROOT / "index.html"))
        app.router.add_static("/", WEB_ROOT, append_version=False)
        port = await self._serve(app, self.options.port)
        self.url = f"http://{self.options.host}:{port}/"

    async def _serve(self, app: web.Application, port: int) -> int:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, self.options.host, port)
        await site.start()
        # One site per runner, so its one address is this site's (host, port), the port chosen if 0.
        return int(runner.addresses[0][1])


class StackProcess:
    """Runs the stack in a child interpreter and waits until it is serving.

    For synchronous callers (pytest fixtures, the benchmark). Faults are injected over HTTP:
    `POST {url}__local/faults` here and `{standin_url}/__standin/...` on the stand-in.
    """

    def __init__(
        self, *args: str, env: Mapping[str, str] | None = None, startup_timeout: float = 30.0
    ) -> None:
        self._args = list(args)
        self._env = env
        self._timeout = startup_timeout
        self._process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self._reader: threading.Thread | None = None
        self.url = ""
        self.standin_url: str | None = None

    def __enter__(self) -> StackProcess:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        env = dict(os.environ if self._env is None else self._env)
        env["PYTHONUNBUFFERED"] = "1"
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
            [sys.executable, "-m", "local.stack", "--ready-json", *self._args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._process = process
        # A reader thread, so a silent child cannot block us past the timeout, and its pipe never fills.
        self._reader = threading.Thread(
            target=self._read, args=(process,), name="local-stack-stdout", daemon=True
        )
        self._reader.start()
        deadline = time.monotonic() + self._timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            with contextlib.suppress(ValueError):
                ready = json.loads(line)
                if isinstance(ready, dict) and ready.get("ready"):
                    self.url = ready["url"]
                    self.standin_url = ready.get("standin_url")
                    return
        tail = self.stderr_tail
        self.stop()
        raise RuntimeError(f"the local stack did not start:\n{tail}")

    @property
    def stderr_tail(self) -> str:
        """The end of the child's stderr, for error reports."""
        if self._stderr.closed:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()[-4000:]

    def _read(self, process: subprocess.Popen[str]) -> None:
        if process.stdout is None:
            return
        for line in process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def stop(self) -> None:
        """Stops the child as Ctrl-C would (it shuts its servers down cleanly) and closes our pipes."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if self._reader is not None:
                self._reader.join(timeout=5)
            if process.stdout is not None:
                process.stdout.close()
        if not self._stderr.closed:
            self._stderr.close()


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.stack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", "8000")),
        help="page and API port (0: any free port; default 8000 or $PORT)",
    )
    parser.add_argument("--standin-port", type=int, default=0)
    parser.add_argument(
        "--api-latency-ms", type=float, default=0.0, help="round trip added to every /api request"
    )
    parser.add_argument(
        "--session-max-seconds",
        type=float,
        default=3600.0,
        help="the stand-in's session limit (OpenAI's is 60 minutes)",
    )
    parser.add_argument(
        "--static",
        action="append",
        default=[],
        metavar="PREFIX=DIR",
        help="serve another folder, e.g. /bench/=bench/connect/reference",
    )
    parser.add_argument(
        "--template",
        type=Path,
        default=TEMPLATE,
        help="the SAM template whose page headers and routes to serve (default: the repo's)",
    )
    parser.add_argument(
        "--ready-json",
        action="store_true",
        help="print one JSON line with the URLs when ready (for programs)",
    )
    return parser.parse_args(argv)


async def _serve_until_stopped(args: argparse.Namespace) -> None:
    extra = {}
    for spec in args.static:
        prefix, _, folder = spec.partition("=")
        extra[prefix] = (REPO / folder).resolve()
    options = StackOptions(
        host=args.host,
        port=args.port,
        standin_port=args.standin_port,
        openai_api_key=os.environ.get("OPENAI_API_KEY") or None,
        api_latency_ms=args.api_latency_ms,
        session_max_seconds=args.session_max_seconds,
        extra_static=extra,
        template=args.template,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = time.perf_counter()
    async with LocalStack(options) as stack:
        if args.ready_json:
            print(json.dumps({"ready": True, "url": stack.url, "standin_url": stack.standin_url}), flush=True)
        else:
            target = f"the stand-in at {stack.standin_url}"
            if stack.uses_openai:
                target = "OpenAI (OPENAI_API_KEY is set)"
            print(f"realtime-vend local stack ready in {time.perf_counter() - started:.1f} s", flush=True)
            print(f"  page:    {stack.url}", flush=True)
            print(f"  api:     {stack.url}api/session  (the real Lambda handler)", flush=True)
            print(f"  realtime: {target}", flush=True)
            print("Press Ctrl-C to stop.", flush=True)
        await stop.wait()
    print("stopped", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    if urlsplit(f"http://{args.host}").hostname not in {"127.0.0.1", "localhost", "::1"}:
        print("warning: the stack is for local use; it binds to a non-loopback address", file=sys.stderr)
    asyncio.run(_serve_until_stopped(args))


if __name__ == "__main__":
    main()
