"""The whole product on one machine: page, API (the real Lambda handler), AWS and OpenAI.

    scripts/local                     # or: .venv/bin/python -m local.stack [--port 8000]

One process serves web/ at `/` under the production security headers (from template.yaml), a
generated config.json, and `/api/*` through a CloudFront stand-in (local.cloudfront: the origin header,
`CloudFront-Viewer-Address` and `X-Forwarded-Host`, whatever the client sent) into the real
`vend.app.lambda_handler` behind an API Gateway HTTP API (payload 2.0) adapter. A second port stands
in for the execute-api endpoint: the same adapter without CloudFront, which the handler refuses.
Secrets Manager, SSM, DynamoDB and EventBridge Scheduler are moto's server (local.moto_server, one
request at a time), seeded with the OpenAI key, the origin-verify and visitor-key secrets, the pause
parameter, the template's `QuotaTable` and the calls' schedule group. OpenAI is the local stand-in on
its own port (another origin, like api.openai.com) unless OPENAI_API_KEY is set: then that key is
seeded and the handler and the page talk to the real OpenAI.

Relayed calls (`--mode relay|both`): `/api/call` and `/api/call/{id}` go the same way as
/api/session. The function writes each call's hangup schedule to moto's Scheduler (the
`schedule_group` of the ready line); moto never fires a schedule, so local.scheduler polls the group
and, at each schedule's time, runs `vend.hangup.lambda_handler(Input)` in this process and deletes
the schedule. The kill switch (`vend.kill_switch`, `aws lambda invoke` when deployed) is
`POST {url}__local/operator` with `{"action": "end_all_calls"}` (loopback, like the whole stack), or
`StackProcess.kill_switch()`; it answers the function's result, `{"ended": N}`.

The companion (issue 18): the vend function invokes it with boto3's Lambda client, whose endpoint
(`AWS_ENDPOINT_URL_LAMBDA`) is local.lambda_invoke on a port of its own: each async invocation runs
`vend.companion.handler.lambda_handler` in an execution environment (a thread) of its own, with
Lambda's deadline (`--companion-deadline-seconds`) and retries (`--async-retry-seconds`);
`invocations_url` in the ready line lists them.

stdout is this module's report only (`--ready-json`: one JSON line once serving); every log, the
handler's included, goes to stderr. Programs use `LocalStack` (local.stack_wiring, an async context
manager) or, from synchronous code such as pytest fixtures, `StackProcess` (local.stack_process),
which runs this module in a child process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from local.stack_options import AUTH_MODES, CALL_MODES, PAUSE_PARAMETER, REPO, VOICE_APIS, StackOptions
from local.stack_process import StackProcess
from local.stack_wiring import LocalStack
from template_contract.reader import TEMPLATE, load_template

__all__ = ["REPO", "LocalStack", "StackOptions", "StackProcess", "main"]
ON_OFF = ("on", "off")


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
    calls.add_argument(
        "--call-dollars-per-visitor",
        metavar="USD",
        help="metered spend per visitor per UTC day (CallDollarsPerVisitorPerDay), e.g. 0.05",
    )
    calls.add_argument(
        "--call-dollars-per-day",
        metavar="USD",
        help="metered spend per UTC day, all visitors (CallDollarsPerDay)",
    )
    calls.add_argument(
        "--tools", metavar="NAMES", help="server tools the model may call, comma-separated, or none (Tools)"
    )
    _add_live_arguments(parser)
    companion = parser.add_argument_group("the companion (Lambda async invocations, local.lambda_invoke)")
    companion.add_argument(
        "--companion-deadline-seconds",
        "--companion-max-seconds",  # the name for it
        dest="companion_deadline_seconds",
        type=float,
        metavar="S",
        help="each invocation's emulated Lambda deadline (default: the function's timeout, 900 s); a few "
        "seconds make the companion's hand-overs visible",
    )
    companion.add_argument(
        "--async-retry-seconds",
        type=float,
        default=1.0,
        metavar="S",
        help="a failed invocation is retried after S, then 2*S seconds (Lambda: about 1 and 2 minutes)",
    )
    companion.add_argument(
        "--companion-init-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="Lambda's init, paid by each invocation that finds no idle execution environment (default 0)",
    )
    companion.add_argument(
        "--no-companion",
        action="store_true",
        help="the vend function invokes no companion (COMPANION_FUNCTION_NAME empty; benches compare)",
    )
    companion.add_argument(
        "--async-function",
        action="append",
        default=[],
        metavar="NAME=MODULE",
        help="run the function NAME with MODULE's lambda_handler (tests; default: the companion's)",
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
    args = parser.parse_args(argv)
    if args.voice_api == "live" and args.mode not in {None, "relay"}:
        parser.error("--voice-api live serves relayed calls only: leave --mode out or give relay")
    return args


def _add_live_arguments(parser: argparse.ArgumentParser) -> None:
    """GPT-Live's flags: the template's Live* parameters, and the stand-in's GPT-Live options."""
    parameters = load_template()["Parameters"]
    live = parser.add_argument_group("GPT-Live (default: the template's)")
    live.add_argument(
        "--voice-api",
        choices=VOICE_APIS,
        help="realtime (the Realtime API) or live (GPT-Live: relayed calls only, CALL_MODE relay) (VoiceApi)",
    )
    live.add_argument(
        "--live-model",
        choices=parameters["LiveModel"]["AllowedValues"],
        help="the GPT-Live model (LiveModel)",
    )
    live.add_argument(
        "--live-voice",
        choices=parameters["LiveVoice"]["AllowedValues"],
        metavar="VOICE",
        help="one of the template's GPT-Live voices (LiveVoice)",
    )
    live.add_argument(
        "--live-idle-timeout-seconds",
        type=int,
        metavar="S",
        help="standby after S seconds of inactivity, 0: never (LiveIdleTimeoutSeconds)",
    )
    live.add_argument(
        "--live-typed-text", choices=ON_OFF, help="whether the page may send typed text (LiveTypedText)"
    )
    live.add_argument(
        "--live-hosted-tools",
        metavar="TOOLS",
        help="the backend's hosted tools: web_search or none (LiveHostedTools)",
    )
    standin = parser.add_argument_group("the stand-in's GPT-Live (default: the stand-in's)")
    standin.add_argument(
        "--live-usage-interval-seconds",
        type=float,
        metavar="S",
        help="session.usage.updated every S seconds (OpenAI: about once a minute)",
    )
    standin.add_argument(
        "--live-max-session-seconds",
        type=float,
        metavar="S",
        help="a session ends with session.closed reason expired after S seconds (not documented by OpenAI)",
    )
    standin.add_argument(
        "--live-webrtc-hangup",
        choices=("ignored", "honoured"),
        help="POST /v1/live/sessions/{id}/hangup on a WebRTC session (documented for SIP only): "
        "ignored (200, nothing happens) or honoured (ends it)",
    )
    standin.add_argument(
        "--live-reflect-audio",
        choices=ON_OFF,
        help="whether a sideband receives the session's audio as events (OpenAI's do)",
    )


def _standin_live(args: argparse.Namespace) -> dict[str, object]:
    """The stand-in's GPT-Live options given on the command line, by StandinOptions field name."""
    given: dict[str, object] = {
        "live_usage_interval_seconds": args.live_usage_interval_seconds,
        "live_max_session_seconds": args.live_max_session_seconds,
        "live_webrtc_hangup": args.live_webrtc_hangup,
        "live_reflect_audio": None if args.live_reflect_audio is None else args.live_reflect_audio == "on",
    }
    return {name: value for name, value in given.items() if value is not None}


def _options(args: argparse.Namespace) -> StackOptions:
    extra = {}
    for spec in args.static:
        prefix, _, folder = spec.partition("=")
        extra[prefix] = (REPO / folder).resolve()
    async_functions = None
    if args.async_function:
        async_functions = dict(spec.partition("=")[::2] for spec in args.async_function)
    return StackOptions(
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
        call_dollars_per_visitor=args.call_dollars_per_visitor,
        call_dollars_per_day=args.call_dollars_per_day,
        tools=args.tools,
        auth=args.auth,
        access_token_ttl=args.access_token_ttl,
        async_functions=async_functions,
        companion_deadline_seconds=args.companion_deadline_seconds,
        async_retry_seconds=args.async_retry_seconds,
        companion_init_ms=args.companion_init_ms,
        handler_env={"COMPANION_FUNCTION_NAME": ""} if args.no_companion else {},
        voice_api=args.voice_api,
        live_model=args.live_model,
        live_voice=args.live_voice,
        live_idle_timeout_seconds=args.live_idle_timeout_seconds,
        live_typed_text=None if args.live_typed_text is None else str(args.live_typed_text == "on").lower(),
        live_hosted_tools=args.live_hosted_tools,
        standin_live=_standin_live(args),
    )


def _report_banner(stack: LocalStack, seconds: float, report: TextIO) -> None:
    target = f"the stand-in at {stack.standin_url}"
    if stack.uses_openai:
        target = "OpenAI (OPENAI_API_KEY is set)"
    direct = "401 without a token, 403 with one" if stack.issuer else "403"
    lines = [
        f"realtime-vend local stack ready in {seconds:.1f} s",
        f"  page:        {stack.url}",
        f"  api:         {stack.url}api/session  (the real Lambda handler, through CloudFront)",
        f"  execute-api: {stack.execute_api}  (without CloudFront: {direct})",
        f"  realtime:    {target}",
        f"  call mode:   {stack.describe()['call_mode']}",
        f"  voice api:   {stack.describe()['voice_api']}",
    ]
    if stack.issuer:
        lines.append(f"  sign-in:     {stack.issuer}  (OpenID Connect; any name and password)")
    lines += [
        f"  kill switch: curl -X POST {stack.url}__local/operator  (ends every live call)",
        f"  lambda:      {stack.lambda_endpoint}  (Invoke API: the companion; GET /__local/invocations)",
        f"  aws:         {stack.aws_endpoint}  (moto: Secrets Manager, SSM: {PAUSE_PARAMETER}, DynamoDB)",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), file=report, flush=True)


async def _serve_until_stopped(args: argparse.Namespace, report: TextIO) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = time.perf_counter()
    async with LocalStack(_options(args)) as stack:
        if args.ready_json:
            print(json.dumps({"ready": True, **stack.describe()}), file=report, flush=True)
        else:
            _report_banner(stack, time.perf_counter() - started, report)
        await stop.wait()
    print("stopped", file=sys.stderr, flush=True)


def _stdout_for_the_report() -> TextIO:
    """This process's stdout, kept for the ready line or the banner; from here on file descriptor 1
    is stderr, so whatever else writes to stdout (the handler's Powertools logger, a print, a child
    that inherits it) lands in stderr."""
    sys.stdout.flush()
    report = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return report


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    if urlsplit(f"http://{args.host}").hostname not in {"127.0.0.1", "localhost", "::1"}:
        print("warning: the stack is for local use; it binds to a non-loopback address", file=sys.stderr)
    report = _stdout_for_the_report()
    try:
        asyncio.run(_serve_until_stopped(args, report))
    finally:
        report.close()


if __name__ == "__main__":
    main()
