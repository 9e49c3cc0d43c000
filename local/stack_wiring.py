"""`LocalStack`: starts the local stack's services and wires them together, in this process.

moto's server (Secrets Manager, SSM, DynamoDB, Scheduler; a child interpreter), the OpenAI stand-in
(another, unless a real key is given), the OpenID Connect provider (signed-in mode; node), the real
handler behind the API Gateway adapter (local.lambda_adapter) on the execute-api port, the
CloudFront stand-in in front of it on the page's port, the page (local.page_server), the
scheduler that fires the calls' hangups (local.scheduler) and Lambda's Invoke API on a port of its
own, which runs the companion the vend function invokes (local.lambda_invoke).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import secrets
import socket
from collections.abc import Callable
from typing import Any

from aiohttp import web

from local.cloudfront import CloudFrontStandin
from local.dynamodb import table_properties
from local.function_env import function_environment, import_handler
from local.gateway_limits import gateway_limits
from local.jwt_authorizer import JwtAuthorizer
from local.lambda_adapter import LambdaAdapter, LambdaContext, gateway_error
from local.lambda_invoke import ASYNC_FUNCTIONS, INVOCATIONS_PATH, LambdaInvoker
from local.moto_server import REGION, MotoServer
from local.oidc_provider import CLIENT_ID as OIDC_CLIENT_ID
from local.oidc_provider import DEFAULT_SCOPE as OIDC_SCOPE
from local.oidc_provider import OidcProvider
from local.page_server import page_app
from local.scheduler import ScheduleRunner
from local.stack_options import (
    COMPANION_FUNCTION_NAME,
    OPENAI_ORIGIN,
    ORIGIN_VERIFY_SECRET_NAME,
    PAUSE_PARAMETER,
    QUOTA_TABLE,
    SCHEDULE_GROUP,
    SECRET_NAME,
    VISITOR_KEY_SECRET_NAME,
    StackOptions,
)
from local.standin_process import StandinProcess
from publisher.site import PageAuth, voice_config
from template_contract.page_headers import origin_of, page_headers
from template_contract.reader import http_api_route_keys, jwt_route_keys, load_template
from template_contract.values import defaults, evaluate

CALL_URL = "/api/call"
# What vend imports from outside the standard library (functions/vend; httpx only in openai_api/).
HANDLER_LIBRARIES = (
    "boto3",
    "httpx",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.utilities.parameters",
)
# Anything else under /api is the handler's to answer (404/405), as with the template's routes.
DEFAULT_ROUTE_KEYS = ("POST /api/session", "ANY /api/session", "$default")

# The task functions by the name tests and the control routes give them -> their handler modules.
TASK_MODULES = {"hangup": "vend.hangup", "operator": "vend.kill_switch"}
# The template's resource of the function the vend function invokes as COMPANION_FUNCTION_NAME.
COMPANION_RESOURCE = "CompanionFunction"


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
        self._moto: MotoServer | None = None
        self._template: dict[str, Any] = {}
        self._route_keys: tuple[str, ...] = DEFAULT_ROUTE_KEYS
        self._standin: StandinProcess | None = None
        self._scheduler: ScheduleRunner | None = None
        self._call_mode = "client_secret"
        self._voice_api = "realtime"
        self._typed_text = True
        self._oidc: OidcProvider | None = None
        self.issuer = ""
        self._invoker: LambdaInvoker | None = None
        self.lambda_endpoint = ""
        self._companion_function = ""

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
            "voice_api": self._voice_api,
            "schedule_group": SCHEDULE_GROUP,
            # POST a JSON event: the operator function's answer (the kill switch: end_all_calls).
            "operator_url": f"{self.url}__local/operator" if self.url else "",
            # Signed-in mode: the OpenID Connect provider (its login page signs anyone in by name).
            "auth": self.options.auth,
            "issuer": self.issuer,
            # Lambda's Invoke API (AWS_ENDPOINT_URL_LAMBDA), and the list of its invocations (each
            # attempt: function, attempt, state, started, ended) for tests waiting on a companion.
            "lambda_endpoint": self.lambda_endpoint,
            "invocations_url": f"{self.lambda_endpoint}{INVOCATIONS_PATH}" if self.lambda_endpoint else "",
            # Whether the vend function invokes a companion (COMPANION_FUNCTION_NAME set), and its name.
            "companion": bool(self._companion_function),
            "companion_function": self._companion_function,
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
        self._moto = moto = MotoServer(
            opts.host,
            secrets={
                SECRET_NAME: api_key,
                ORIGIN_VERIFY_SECRET_NAME: json.dumps({"current": origin_verify, "previous": ""}),
                VISITOR_KEY_SECRET_NAME: secrets.token_urlsafe(48),  # 64 characters
            },
            parameters={PAUSE_PARAMETER: "true" if opts.paused else "false"},
        )
        if not self.uses_openai:
            self._standin = StandinProcess(
                api_key,
                host=opts.host,
                port=opts.standin_port,
                session_max_seconds=opts.session_max_seconds,
                live_options=opts.standin_live,
            )
        # Moto and the stand-in (child interpreters) start side by side, each on a core of its own,
        # while this process parses the template and imports boto3.
        starts: list[Callable[[], object]] = [moto.start, self._read_template]
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
        await _all_of(*(asyncio.to_thread(start) for start in starts))
        if self._standin is not None:
            self.standin_url = self.realtime_origin = self._standin.url
        self.aws_endpoint = self.dynamodb_endpoint = moto.endpoint

        self.lambda_endpoint = await self._start_lambda()
        env = function_environment(
            opts, self._template, moto, self.standin_url or OPENAI_ORIGIN, self.lambda_endpoint
        )
        self._companion_function = env.get("COMPANION_FUNCTION_NAME", "")
        self._call_mode = env.get("CALL_MODE") or "client_secret"
        self._voice_api = env.get("VOICE_API") or "realtime"
        self._typed_text = (env.get("LIVE_TYPED_TEXT") or "true").lower() == "true"
        authorizer = None
        if self._oidc is not None:
            self.issuer = env["AUTH_ISSUER"] = self._oidc.issuer
            authorizer = JwtAuthorizer(self.issuer, [self._oidc.audience])
            await asyncio.to_thread(authorizer.prefetch)
        # moto makes the quota table and the calls' schedule group while this process imports the
        # handler (in threads, as the starts were: this loop stays free for the servers' signals).
        tables = {QUOTA_TABLE: table_properties(self._template, "QuotaTable", opts.template)}
        _, handler = await _all_of(
            asyncio.to_thread(moto.create, tables=tables, schedule_groups=[SCHEDULE_GROUP]),
            asyncio.to_thread(import_handler, env),
        )
        self.adapter = LambdaAdapter(
            handler,
            self._route_keys,
            latency_ms=opts.api_latency_ms,
            authorize=authorizer.authorize if authorizer is not None else None,
            # What the template's JWT authorizer guards in signed-in mode (the rest of /api/* mints nothing).
            protected_routes=dict.fromkeys(jwt_route_keys(opts.template), (OIDC_SCOPE,)),
            limits=gateway_limits(opts.template),
        )
        # The schedules' hangups run in this process, in the one execution environment (see invoke()).
        self._scheduler = ScheduleRunner(
            moto.endpoint,
            SCHEDULE_GROUP,
            lambda event: self.invoke("hangup", event),
            interval=opts.scheduler_interval,
        )
        self._scheduler.start()
        origin_host = await self._start_execute_api(self.adapter)
        self.cloudfront = CloudFrontStandin(
            self.adapter.handle, origin_host=origin_host, origin_verify=origin_verify
        )
        await self._start_page(self.adapter, self.cloudfront)

    def _read_template(self) -> None:
        """The template, then the libraries the handler imports (none reads the environment at
        import): about a second of CPU, here while the children start instead of after them."""
        self._template = load_template(self.options.template)
        try:
            self._route_keys = http_api_route_keys(self.options.template) or DEFAULT_ROUTE_KEYS
        except Exception:
            self._route_keys = DEFAULT_ROUTE_KEYS
        for module in HANDLER_LIBRARIES:
            importlib.import_module(module)

    def invoke(self, module: str, event: Any) -> Any:
        """Runs the `module` function's `lambda_handler(event, context)` here, as Lambda would run it.

        `hangup` (what the schedules invoke) and `operator` (the kill switch) share the environment
        the API handler reads, and its one-at-a-time lock: in AWS each function has execution
        environments of its own, here they share module state, which must not be used by two at once.
        Blocking: call it from a thread.
        """
        if self.adapter is None:
            raise RuntimeError("the stack is not running")
        # Imported on first use: the stack starts as fast as before, and without these modules.
        handler = importlib.import_module(TASK_MODULES[module]).lambda_handler
        context = LambdaContext(f"{module.capitalize()}Function", timeout_seconds=60.0)
        return self.adapter.run_exclusively(lambda: handler(event, context))

    async def _start_lambda(self) -> str:
        """Lambda's Invoke API for the functions the vend function invokes (the companion)."""
        opts = self.options
        functions = ASYNC_FUNCTIONS if opts.async_functions is None else opts.async_functions
        timeout = _function_timeout(self._template, COMPANION_RESOURCE)
        self._invoker = LambdaInvoker(
            functions,
            timeout_seconds={COMPANION_FUNCTION_NAME: timeout} if timeout is not None else None,
            deadline_seconds=opts.companion_deadline_seconds,
            retry_delays=(opts.async_retry_seconds, 2 * opts.async_retry_seconds),
            init_seconds=opts.companion_init_ms / 1000,
        )
        port = await self._serve(self._invoker.app(), 0)
        return f"http://{_url_host(opts.host)}:{port}"

    async def stop(self) -> None:
        if self._scheduler is not None:
            await asyncio.to_thread(self._scheduler.stop)
            self._scheduler = None
        # Before the servers and moto go: a companion given its deadline still finalises its call.
        if self._invoker is not None:
            await asyncio.to_thread(self._invoker.stop)
            self._invoker = None
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self._moto is not None:
            await asyncio.to_thread(self._moto.stop)
            self._moto = None
        if self._standin is not None:
            await asyncio.to_thread(self._standin.stop)
            self._standin = None
        if self._oidc is not None:
            await asyncio.to_thread(self._oidc.stop)
            self._oidc = None

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

    async def _start_page(self, adapter: LambdaAdapter, cloudfront: CloudFrontStandin) -> None:
        auth_origins = [origin_of(self.issuer)] if self.issuer else []
        headers = page_headers(self.realtime_origin, self.options.template, auth_origins=auth_origins)
        config: dict[str, Any] = {
            "sessionUrl": "/api/session",
            "realtimeCallsUrl": f"{self.realtime_origin}/v1/realtime/calls",
            "callMode": self._call_mode,
            "callUrl": CALL_URL,
            "auth": None,
            **voice_config(self._voice_api, self._typed_text, self._call_mode),
        }
        if self._oidc is not None:
            # The same `auth` the publisher writes into a deployed config.json.
            config["auth"] = PageAuth(
                issuer=self.issuer, client_id=OIDC_CLIENT_ID, audience=self._oidc.audience, scope=OIDC_SCOPE
            ).as_config()

        async def operator(event: Any) -> Any:
            return await asyncio.to_thread(self.invoke, "operator", event)

        app = page_app(
            headers=headers,
            config=config,
            adapter=adapter,
            cloudfront=cloudfront,
            operator=operator,
            extra_static=self.options.extra_static,
        )
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


async def _all_of(*work: Any) -> list[Any]:
    """Every result; every piece is waited for, even when one fails (stop() must see what did start),
    then the first failure is raised."""
    outcomes = await asyncio.gather(*work, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes


def _function_timeout(template: dict[str, Any], resource: str) -> float | None:
    """The template's Timeout of a function resource at the parameters' defaults; None when the
    template has no such function or no literal timeout for it."""
    properties = ((template.get("Resources") or {}).get(resource) or {}).get("Properties") or {}
    value = evaluate(properties.get("Timeout"), defaults(template), template)
    return float(value) if isinstance(value, int | float | str) and str(value).isdigit() else None


def _free_port(host: str) -> int:
    """A port free right now (the page's, when the OIDC provider must be told it in advance)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
