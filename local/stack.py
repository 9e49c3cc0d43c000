"""The whole product on one machine: page, API (the real Lambda handler), Secrets Manager and OpenAI.

    scripts/local                     # or: .venv/bin/python -m local.stack [--port 8000]

One process serves web/ at `/` under the production security headers (from template.yaml), a
generated config.json, and `/api/*` through a CloudFront stand-in (local.cloudfront: the origin header,
`CloudFront-Viewer-Address` and `X-Forwarded-Host`, whatever the client sent) into the real
`vend.app.lambda_handler` behind an API Gateway HTTP API (payload 2.0) adapter. A second port stands
in for the execute-api endpoint: the same adapter without CloudFront, which the handler refuses.
Secrets Manager and SSM are moto's server, seeded with the OpenAI key, the origin-verify and
visitor-key secrets and the pause parameter; the quota table is dynalite (local.dynamodb), created
from the template's `QuotaTable`. OpenAI is the local stand-in on its own port (another origin, like
api.openai.com) unless OPENAI_API_KEY is set: then that key is seeded and the handler and the page
talk to the real OpenAI.

Relayed calls (`--mode relay|both`): `/api/call` and `/api/call/{id}` go the same way as
/api/session. The function writes each call's hangup schedule to EventBridge Scheduler, which is
moto's too (the `schedule_group` of the ready line); moto never fires a schedule, so local.scheduler
polls the group and, at each schedule's time, runs `vend.hangup.lambda_handler(Input)` in this
process and deletes the schedule. The kill switch (`vend.operator`, `aws lambda invoke` when
deployed) is `POST {url}__local/operator` with `{"action": "end_all_calls"}` (loopback, like the
whole stack), or `StackProcess.kill_switch()`; it answers the function's result, `{"ended": N}`.

Programs use `LocalStack` (an async context manager) or, from synchronous code such as pytest
fixtures, `StackProcess`, which runs this module in a child process: the handler reads its
environment once at import, so each stack gets a fresh interpreter.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import queue
import secrets
import signal
import socket
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

from local.cloudfront import CloudFrontStandin
from local.gateway_limits import gateway_limits
from local.jwt_authorizer import JwtAuthorizer
from local.lambda_adapter import LambdaAdapter, LambdaContext, gateway_error
from local.oidc_provider import CLIENT_ID as OIDC_CLIENT_ID
from local.oidc_provider import DEFAULT_SCOPE as OIDC_SCOPE
from local.oidc_provider import OidcProvider
from local.scheduler import ScheduleRunner
from local.secrets_manager import REGION, SeededSecretsManager
from local.standin_process import StandinProcess
from publisher.site import PageAuth
from template_contract.page_headers import origin_of, page_headers
from template_contract.reader import (
    TEMPLATE,
    TemplateError,
    http_api_route_keys,
    jwt_route_keys,
    load_template,
)

REPO = Path(__file__).resolve().parent.parent
WEB_ROOT = REPO / "web"
OPENAI_ORIGIN = "https://api.openai.com"
SECRET_NAME = "realtime-vend/local/openai-api-key"  # noqa: S105 - a name, not a secret
ORIGIN_VERIFY_SECRET_NAME = "realtime-vend/local/origin-verify"  # noqa: S105 - a name
VISITOR_KEY_SECRET_NAME = "realtime-vend/local/visitor-key"  # noqa: S105 - a name
PAUSE_PARAMETER = "/realtime-vend-local/paused"  # the template's `/<stack name>/paused`
QUOTA_TABLE = "realtime-vend-local-quota"
FUNCTION = "VendFunction"
# Relayed calls: the template's `<stack>-calls` group, and ARNs of the right shape for the schedules'
# target and role (moto stores them; local.scheduler invokes the hangup handler in this process).
SCHEDULE_GROUP = "realtime-vend-local-calls"
HANGUP_FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:realtime-vend-local-HangupFunction"
SCHEDULER_ROLE_ARN = "arn:aws:iam::123456789012:role/realtime-vend-local-SchedulerRole"
CALL_MODES = ("client_secret", "relay", "both")
CALL_URL = "/api/call"
# Anything else under /api is the handler's to answer (404/405), as with the template's routes.
DEFAULT_ROUTE_KEYS = ("POST /api/session", "ANY /api/session", "$default")
AUTH_MODES = ("none", "oidc")


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
    execute_api_port: int = 0
    # The abuse limits; None: the template's default.
    quota_per_visitor: int | None = None
    quota_window_seconds: int | None = None
    daily_cap: int | None = None
    paused: bool = False  # the pause switch's value at start (tests flip it in SSM mid-run)
    # Relayed calls; None: the template's default.
    mode: str | None = None  # CALL_MODE: client_secret | relay | both
    concurrent_calls: int | None = None
    max_call_seconds: int | None = None
    call_minutes_per_visitor: int | None = None
    call_minutes_per_day: int | None = None
    # How often the local scheduler looks for due schedules.
    scheduler_interval: float = 0.5
    # Signed-in visitors: "oidc" runs a real OpenID Connect provider and API Gateway's JWT authorizer.
    auth: str = "none"
    access_token_ttl: int = 600  # the provider's access tokens, seconds


def _route_keys_from_template(template: Path) -> tuple[str, ...]:
    """The HttpApi routes the template declares; API Gateway answers 404 itself for anything else."""
    try:
        return http_api_route_keys(template) or DEFAULT_ROUTE_KEYS
    except Exception:
        return DEFAULT_ROUTE_KEYS


def template_default(document: Mapping[str, Any], variable: str) -> str | None:
    """The template's value for a function variable: a literal, or the default of the parameter it refs."""
    resources = document.get("Resources") or {}
    properties = (resources.get(FUNCTION) or {}).get("Properties") or {}
    value = ((properties.get("Environment") or {}).get("Variables") or {}).get(variable)
    if isinstance(value, dict) and isinstance(value.get("Ref"), str):
        value = ((document.get("Parameters") or {}).get(value["Ref"]) or {}).get("Default")
    return None if value is None or isinstance(value, dict | list) else str(value)


def _table_properties(document: Mapping[str, Any], resource: str, template: Path) -> dict[str, Any]:
    found = (document.get("Resources") or {}).get(resource)
    if not isinstance(found, dict) or found.get("Type") != "AWS::DynamoDB::Table":
        raise TemplateError(f"{template} has no AWS::DynamoDB::Table {resource}")
    properties = found.get("Properties")
    if not isinstance(properties, dict):
        raise TemplateError(f"{resource} in {template} has no Properties")
    return properties


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


def _free_port(host: str) -> int:
    """A port free right now (the page's, when the OIDC provider must be told it in advance)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


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
        self.execute_api = ""
        self.standin_url: str | None = None
        self.realtime_origin = OPENAI_ORIGIN
        self.aws_endpoint = ""
        self.dynamodb_endpoint = ""
        self.adapter: LambdaAdapter | None = None
        self.cloudfront: CloudFrontStandin | None = None
        self._runners: list[web.AppRunner] = []
        self._secrets: SeededSecretsManager | None = None
        self._dynalite: Any = None
        self._template: dict[str, Any] = {}
        self._route_keys: tuple[str, ...] = DEFAULT_ROUTE_KEYS
        self._standin: StandinProcess | None = None
        self._scheduler: ScheduleRunner | None = None
        self._call_mode = "client_secret"
        self._oidc: OidcProvider | None = None
        self.issuer = ""

    @property
    def uses_openai(self) -> bool:
        return self.options.openai_api_key is not None

    def describe(self) -> dict[str, Any]:
        """What programs need to reach the running stack: the `--ready-json` line, minus `ready`."""
        return {
            "url": self.url,
            "standin_url": self.standin_url,
            "execute_api": self.execute_api,
            "aws_endpoint": self.aws_endpoint,
            "region": REGION,
            "pause_parameter": PAUSE_PARAMETER,
            "dynamodb_endpoint": self.dynamodb_endpoint,
            "quota_table": QUOTA_TABLE,
            "call_mode": self._call_mode,
            "schedule_group": SCHEDULE_GROUP,
            # POST a JSON event: the operator function's answer (the kill switch: end_all_calls).
            "operator_url": f"{self.url}__local/operator" if self.url else "",
            # Signed-in mode: the OpenID Connect provider (its login page signs anyone in by name).
            "auth": self.options.auth,
            "issuer": self.issuer,
        }

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
        origin_verify = secrets.token_urlsafe(36)  # 48 characters
        self._secrets = SeededSecretsManager(
            SECRET_NAME,
            api_key,
            secrets={
                ORIGIN_VERIFY_SECRET_NAME: json.dumps({"current": origin_verify, "previous": ""}),
                VISITOR_KEY_SECRET_NAME: secrets.token_urlsafe(48),  # 64 characters
            },
            parameters={PAUSE_PARAMETER: "true" if opts.paused else "false"},
            schedule_groups=[SCHEDULE_GROUP],
        )
        from local.dynamodb import Dynalite, create_table_from_template  # noqa: PLC0415

        self._dynalite = Dynalite(host=opts.host)
        if not self.uses_openai:
            self._standin = StandinProcess(
                api_key,
                host=opts.host,
                port=opts.standin_port,
                session_max_seconds=opts.session_max_seconds,
            )
        # Moto and the stand-in (child interpreters) and dynalite (node) start side by side, each on
        # a core of its own, while this process parses the template and imports boto3.
        starts = [self._secrets.start, self._dynalite.start, self._read_template]
        if self._standin is not None:
            starts.append(self._standin.start)
        if opts.auth == "oidc":
            # The provider must know the page's address (its redirect URI) before the page listens.
            if opts.port == 0:
                opts.port = _free_port(opts.host)
            self._oidc = OidcProvider(
                host=opts.host,
                redirect_uri=f"http://{_url_host(opts.host)}:{opts.port}/",
                access_token_ttl=opts.access_token_ttl,
            )
            starts.append(self._oidc.start)
        # Every start is waited for, even when one fails: stop() must see what did start.
        outcomes = await asyncio.gather(
            *(asyncio.to_thread(start) for start in starts), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        if self._standin is not None:
            self.standin_url = self.realtime_origin = self._standin.url
        self.aws_endpoint = self._secrets.endpoint
        self.dynamodb_endpoint = self._dynalite.endpoint_url
        properties = _table_properties(self._template, "QuotaTable", opts.template)
        await asyncio.to_thread(create_table_from_template, self.dynamodb_endpoint, QUOTA_TABLE, properties)
        base_url = self.standin_url or OPENAI_ORIGIN

        # In a thread, as the stand-in's start was: this loop stays free for the servers' signals.
        env = self._handler_env(self._secrets, base_url)
        self._call_mode = env.get("CALL_MODE") or "client_secret"
        authorizer = None
        if self._oidc is not None:
            self.issuer = env["AUTH_ISSUER"] = self._oidc.issuer
            authorizer = JwtAuthorizer(self.issuer, [self._oidc.audience])
            await asyncio.to_thread(authorizer.prefetch)
        handler = await asyncio.to_thread(self._import_handler, env)
        self.adapter = LambdaAdapter(
            handler,
            self._route_keys,
            latency_ms=opts.api_latency_ms,
            authorize=authorizer.authorize if authorizer is not None else None,
            # What the template's JWT authorizer guards in signed-in mode (the rest of /api/* mints nothing).
            protected_routes=dict.fromkeys(jwt_route_keys(opts.template), (OIDC_SCOPE,)),
            limits=gateway_limits(opts.template, self._route_keys),
        )
        await asyncio.to_thread(self._secrets.wait_for_schedule_groups)  # long done by now
        # The schedules' hangups run in this process, in the one execution environment (see invoke()).
        self._scheduler = ScheduleRunner(
            self._secrets.endpoint,
            SCHEDULE_GROUP,
            lambda event: self.invoke("hangup", event),
            interval=opts.scheduler_interval,
        )
        self._scheduler.start()
        origin_host = await self._start_execute_api(self.adapter)
        self.cloudfront = CloudFrontStandin(
            self.adapter.handle, origin_host=origin_host, origin_verify=origin_verify
        )
        await self._start_page(self.adapter, self.cloudfront, f"{self.realtime_origin}/v1/realtime/calls")

    def _handler_env(self, aws: SeededSecretsManager, base_url: str) -> dict[str, str]:
        opts = self.options
        limits = {
            "QUOTA_PER_VISITOR": opts.quota_per_visitor,
            "QUOTA_WINDOW_SECONDS": opts.quota_window_seconds,
            "DAILY_CAP": opts.daily_cap,
            "CALL_MODE": opts.mode,
            "MAX_CALL_SECONDS": opts.max_call_seconds,
            "CONCURRENT_CALLS_PER_VISITOR": opts.concurrent_calls,
            "CALL_MINUTES_PER_VISITOR": opts.call_minutes_per_visitor,
            "CALL_MINUTES_PER_DAY": opts.call_minutes_per_day,
        }
        env = {
            "OPENAI_API_KEY_SECRET_ARN": aws.arn,
            "OPENAI_BASE_URL": base_url,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": aws.endpoint,
            "AWS_ENDPOINT_URL_SSM": aws.endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_endpoint,
            "ORIGIN_VERIFY_SECRET_ARN": aws.arns[ORIGIN_VERIFY_SECRET_NAME],
            "VISITOR_KEY_SECRET_ARN": aws.arns[VISITOR_KEY_SECRET_NAME],
            "QUOTA_TABLE_NAME": QUOTA_TABLE,
            "PAUSE_PARAMETER_NAME": PAUSE_PARAMETER,
            "HANGUP_FUNCTION_ARN": HANGUP_FUNCTION_ARN,
            "SCHEDULER_ROLE_ARN": SCHEDULER_ROLE_ARN,
            "SCHEDULE_GROUP_NAME": SCHEDULE_GROUP,
            "AWS_ENDPOINT_URL_SCHEDULER": aws.endpoint,
        }
        for variable, value in limits.items():
            chosen = str(value) if value is not None else template_default(self._template, variable)
            if chosen is not None:  # else the handler's own default, as with a template without it
                env[variable] = chosen
        return {**env, **opts.handler_env}

    def _read_template(self) -> None:
        # Pure-Python YAML and boto3's import: a second of CPU, here while the children start.
        self._template = load_template(self.options.template)
        self._route_keys = _route_keys_from_template(self.options.template)
        import boto3  # noqa: F401, PLC0415

    def invoke(self, module: str, event: Any) -> Any:
        """Runs `vend.<module>.lambda_handler(event, context)` here, as Lambda would run that function.

        `hangup` (what the schedules invoke) and `operator` (the kill switch) share the environment
        the API handler reads, and its one-at-a-time lock: in AWS each function has execution
        environments of its own, here they share module state, which must not be used by two at once.
        Blocking: call it from a thread.
        """
        if self.adapter is None:
            raise RuntimeError("the stack is not running")
        # Imported on first use: the stack starts as fast as before, and without these modules.
        handler = importlib.import_module(f"vend.{module}").lambda_handler
        context = LambdaContext(f"{module.capitalize()}Function", timeout_seconds=60.0)
        return self.adapter.run_exclusively(lambda: handler(event, context))

    async def stop(self) -> None:
        if self._scheduler is not None:
            await asyncio.to_thread(self._scheduler.stop)
            self._scheduler = None
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self._secrets is not None:
            await asyncio.to_thread(self._secrets.stop)
            self._secrets = None
        if self._dynalite is not None:
            await asyncio.to_thread(self._dynalite.stop)
            self._dynalite = None
        if self._standin is not None:
            await asyncio.to_thread(self._standin.stop)
            self._standin = None
        if self._oidc is not None:
            await asyncio.to_thread(self._oidc.stop)
            self._oidc = None

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

    async def _start_execute_api(self, adapter: LambdaAdapter) -> str:
        """The execute-api endpoint: /api/* straight into the adapter, API Gateway's 404 elsewhere."""

        async def not_found(_: web.Request) -> web.Response:
            return gateway_error(404, "Not Found")

        app = web.Application()
        app.router.add_route("*", "/api/{tail:.*}", adapter.handle)
        app.router.add_route("*", "/{tail:.*}", not_found)
        port = await self._serve(app, self.options.execute_api_port)
        host = _url_host(self.options.host)
        self.execute_api = f"http://{host}:{port}/"
        return f"{host}:{port}"

    async def _start_page(
        self, adapter: LambdaAdapter, cloudfront: CloudFrontStandin, calls_url: str
    ) -> None:
        auth_origins = [origin_of(self.issuer)] if self.issuer else []
        headers = page_headers(self.realtime_origin, self.options.template, auth_origins=auth_origins)
        config: dict[str, Any] = {
            "sessionUrl": "/api/session",
            "realtimeCallsUrl": calls_url,
            "callMode": self._call_mode,
            "callUrl": CALL_URL,
            "auth": None,
        }
        if self._oidc is not None:
            # The same `auth` the publisher writes into a deployed config.json.
            config["auth"] = PageAuth(
                issuer=self.issuer, client_id=OIDC_CLIENT_ID, audience=self._oidc.audience, scope=OIDC_SCOPE
            ).as_config()

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
            if "cold_start_ms" in patch:
                adapter.go_cold(float(patch["cold_start_ms"]))
            if patch.get("reset"):
                adapter.reset_faults()
            return web.json_response({"ok": True})

        async def control_operator(request: web.Request) -> web.Response:
            event = await request.json() if request.can_read_body else {"action": "end_all_calls"}
            try:
                result = await asyncio.to_thread(self.invoke, "operator", event)
            except Exception as exc:  # the function's failure, as `aws lambda invoke` reports one
                return web.json_response(
                    {"errorType": type(exc).__name__, "errorMessage": str(exc)}, status=500
                )
            return web.json_response(result)

        app = web.Application(middlewares=[_security_headers_middleware(headers)])
        app.router.add_get("/config.json", config_json)
        app.router.add_route("*", "/api/{tail:.*}", cloudfront.handle)
        # Fault injection for tests: API Gateway throttles and crashed invocations on demand.
        app.router.add_post("/__local/faults", control_faults)
        # The kill switch, as `aws lambda invoke --function-name <OperatorFunction>` runs it deployed.
        app.router.add_post("/__local/operator", control_operator)

        async def accepted_tokens(_: web.Request) -> web.Response:
            return web.json_response(adapter.accepted_tokens)

        # Signed-in mode, for tests: whom the JWT authorizer let through (subject, iat, exp, jti).
        app.router.add_get("/__local/authorizer", accepted_tokens)
        for prefix, folder in self.options.extra_static.items():
            if (folder / "index.html").is_file():
                app.router.add_get(prefix.rstrip("/") + "/", _file_handler(folder / "index.html"))
            app.router.add_static(prefix.rstrip("/"), folder, append_version=False)
        app.router.add_get("/", _file_handler(WEB_ROOT / "index.html"))
        app.router.add_static("/", WEB_ROOT, append_version=False)
        port = await self._serve(app, self.options.port)
        self.url = f"http://{_url_host(self.options.host)}:{port}/"

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
    `POST {url}__local/faults` here and `{standin_url}/__standin/...` on the stand-in. `ready` is the
    whole ready line (`--ready-json`): the pause switch is `pause_parameter` in SSM at `aws_endpoint`,
    the calls' schedules are in `schedule_group` there, and `kill_switch()` ends every live call.
    """

    def __init__(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        # Longer than its parts' own (60 s): on a loaded machine (two cores, a browser suite beside it)
        # a start has taken over 30 s; a part that fails says why before this gives up.
        startup_timeout: float = 90.0,
        quota_per_visitor: int | None = None,
        quota_window_seconds: int | None = None,
        daily_cap: int | None = None,
        paused: bool = False,
        mode: str | None = None,
        concurrent_calls: int | None = None,
        max_call_seconds: int | None = None,
        call_minutes_per_visitor: int | None = None,
        call_minutes_per_day: int | None = None,
    ) -> None:
        self._args = list(args)
        for flag, value in (
            ("--quota-per-visitor", quota_per_visitor),
            ("--quota-window-seconds", quota_window_seconds),
            ("--daily-cap", daily_cap),
            ("--mode", mode),
            ("--concurrent-calls", concurrent_calls),
            ("--max-call-seconds", max_call_seconds),
            ("--call-minutes-per-visitor", call_minutes_per_visitor),
            ("--call-minutes-per-day", call_minutes_per_day),
        ):
            if value is not None:
                self._args += [flag, str(value)]
        if paused:
            self._args.append("--paused")
        self._env = env
        self._timeout = startup_timeout
        self._process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self._reader: threading.Thread | None = None
        self.url = ""
        self.execute_api = ""
        self.standin_url: str | None = None
        self.ready: dict[str, Any] = {}

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
                    self.ready = ready
                    self.url = ready["url"]
                    self.execute_api = ready["execute_api"]
                    self.standin_url = ready.get("standin_url")
                    return
        tail = self.stderr_tail
        self.stop()
        raise RuntimeError(f"the local stack did not start:\n{tail}")

    def kill_switch(self, timeout: float = 60.0) -> dict[str, Any]:
        """Ends every live call: the operator function's `end_all_calls` (`{"ended": N}`), run in the stack.

        The same as `POST {ready["operator_url"]}` with `{"action": "end_all_calls"}`, which is what
        `aws lambda invoke --function-name <OperatorFunction>` does deployed.
        """
        return self.invoke_operator({"action": "end_all_calls"}, timeout=timeout)

    def invoke_operator(self, event: Mapping[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        """The operator function's answer to `event`; RuntimeError with its error if it failed."""
        import urllib.error  # noqa: PLC0415 - 60 ms of imports every stack start would pay
        import urllib.request  # noqa: PLC0415

        request = urllib.request.Request(  # noqa: S310 - our own loopback URL
            self.ready["operator_url"],
            data=json.dumps(event).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                answer: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise RuntimeError(
                f"the operator function failed: {exc.read().decode(errors='replace')}"
            ) from exc
        return answer

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
        "--execute-api-port", type=int, default=0, help="the execute-api stand-in's port (0: any free port)"
    )
    limits = parser.add_argument_group("abuse limits (default: the template's)")
    limits.add_argument(
        "--quota-per-visitor", type=int, metavar="N", help="client secrets per visitor per window"
    )
    limits.add_argument("--quota-window-seconds", type=int, metavar="S", help="the per-visitor window")
    limits.add_argument("--daily-cap", type=int, metavar="N", help="client secrets per UTC day, all visitors")
    calls = parser.add_argument_group("relayed calls (default: the template's)")
    calls.add_argument(
        "--mode",
        choices=CALL_MODES,
        help="client_secret: /api/session only; relay: /api/call only; both (CallMode)",
    )
    calls.add_argument("--concurrent-calls", type=int, metavar="N", help="live calls per visitor at once")
    calls.add_argument(
        "--max-call-seconds",
        type=int,
        metavar="S",
        help="every relayed call is hung up S seconds after it starts (10 lets a test see it)",
    )
    calls.add_argument(
        "--call-minutes-per-visitor", type=int, metavar="N", help="call-minutes per visitor per UTC day"
    )
    calls.add_argument(
        "--call-minutes-per-day", type=int, metavar="N", help="call-minutes per UTC day, all visitors"
    )
    limits.add_argument(
        "--paused",
        action="store_true",
        help="start with the pause switch on (every mint: 503 service_paused)",
    )
    auth = parser.add_argument_group("signed-in visitors")
    auth.add_argument(
        "--auth",
        choices=AUTH_MODES,
        default="none",
        help="oidc: a local OpenID Connect provider signs visitors in (any name, any password) and "
        "/api/session and /api/call need its access token, as the template's JWT authorizer does",
    )
    auth.add_argument(
        "--access-token-ttl", type=int, default=600, metavar="S", help="the provider's access token lifetime"
    )
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
        execute_api_port=args.execute_api_port,
        quota_per_visitor=args.quota_per_visitor,
        quota_window_seconds=args.quota_window_seconds,
        daily_cap=args.daily_cap,
        paused=args.paused,
        mode=args.mode,
        concurrent_calls=args.concurrent_calls,
        max_call_seconds=args.max_call_seconds,
        call_minutes_per_visitor=args.call_minutes_per_visitor,
        call_minutes_per_day=args.call_minutes_per_day,
        auth=args.auth,
        access_token_ttl=args.access_token_ttl,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = time.perf_counter()
    async with LocalStack(options) as stack:
        if args.ready_json:
            print(json.dumps({"ready": True, **stack.describe()}), flush=True)
        else:
            target = f"the stand-in at {stack.standin_url}"
            if stack.uses_openai:
                target = "OpenAI (OPENAI_API_KEY is set)"
            print(f"realtime-vend local stack ready in {time.perf_counter() - started:.1f} s", flush=True)
            print(f"  page:        {stack.url}", flush=True)
            print(
                f"  api:         {stack.url}api/session  (the real Lambda handler, through CloudFront)",
                flush=True,
            )
            direct = "401 without a token, 403 with one" if stack.issuer else "403"
            print(f"  execute-api: {stack.execute_api}  (without CloudFront: {direct})", flush=True)
            print(f"  realtime:    {target}", flush=True)
            print(f"  call mode:   {stack.describe()['call_mode']}", flush=True)
            if stack.issuer:
                print(f"  sign-in:     {stack.issuer}  (OpenID Connect; any name and password)", flush=True)
            operator = f"{stack.url}__local/operator"
            print(f"  kill switch: curl -X POST {operator}  (ends every live call)", flush=True)
            print(
                f"  aws:         {stack.aws_endpoint}  (Secrets Manager, SSM: {PAUSE_PARAMETER})", flush=True
            )
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
