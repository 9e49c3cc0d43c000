"""Measures how fast a call gets going, in Chromium against the local stack, with network latency.

    .venv/bin/python -m bench.connect [--runs 8] [--drop-runs 4] [--init-ms MS] [--no-live]

In one run (the stack serves both call modes), over N fresh browser contexts each, it compares:
  * relay: our page posts its offer to /api/call, which posts it to OpenAI (?mode=relay);
  * client secret: our page mints at /api/session, then posts the offer to OpenAI (?mode=client_secret);
  * each of them with and without preparing when the pointer reaches Connect (?prepare=off), the
    pointer resting on the button --intent-ms before the click;
  * the tutorials' sequential flow (bench/connect/reference/);
  * the floor (bench/connect/floor/): a page that holds its client secret before the click and
    posts its offer at once;
  * GPT-Live relay (bench/connect/live.py): our page against a third stack started with
    --voice-api live, with the same injected latencies, against Realtime relay and the floor;
  * in both modes, the function cold against warm, the pointer resting on Connect --cold-intent-ms
    before the click (the page wakes the function with GET /api/warm when the pointer arrives). The
    cold start is Lambda's init under the CPU model of bench/coldstart (a fresh process importing
    the handler in a cgroup capped at 1 vCPU; the median of --cold-runs, or --init-ms): before each
    cold run the local API Gateway is told that no environment is warm, and the next invocation
    waits that long first (each one that finds none warm does, as each would start its own).
For each it takes the median of the time from the click to:
  * the `oai-events` data channel opening;
  * first remote audio: the first inbound RTP audio with totalAudioEnergy > 0 (the stand-in's voice
    track is never digitally silent, so this is when media actually flows end to end; it does not
    wait for the assistant to decide to speak, which is the model's time, not the connection's).
It prints the medians (p50) and p90 of each, relay ÷ floor (goal ≤ 1.05 at p50), preparing against
not preparing (goal: no worse at p50 or p90) and cold against warm (goal ≤ 1.1).
It also measures, in both modes, the median time from a network drop (the stand-in blackholes one
call's media path) to the page noticing it (state 'reconnecting') and to audio flowing again on a new
connection. The drop comes mid-call, once the session is older than the page's `stableSessionMs`
(20 s), as a real one would: a session lost sooner counts as a failed attempt and waits longer. The
drop pages run side by side (one call each), so the wait is paid once per mode.

The companion (relay): for the relay page, the time from the stand-in sending its 201 with the SDP
answer (when the function has it: the injected function↔OpenAI RTT is paid before the answer) to the
companion's sideband attaching at the stand-in, split by whether its attempt found an idle Lambda
environment (warm) or paid the companion's init (cold: a run that first leaves none idle). Injected
as production pays it: Lambda's internal queue before an async invocation (--async-queue-ms), three
function↔OpenAI round trips before the sideband's upgrade is answered (TCP, TLS 1.3, HTTP), and, cold,
the companion's init (vend.companion.handler imported under the 1 vCPU cap, or --companion-init-ms).
Beside it, relay's click → SDP answer and → first audio on a second stack whose vend function invokes
no companion (COMPANION_FUNCTION_NAME=""), run by run with the others: the companion's Invoke is
queued beside the schedule and mark_live, so neither may get slower.

Latency is injected where the network would add it: --api-rtt-ms on every /api request (the local
stack's API Gateway adapter); --realtime-rtt-ms on the browser's posts to OpenAI's /v1/realtime/calls
(a delaying proxy the pages' config.json points at) and half of it each way on every UDP packet of the
media path; --function-rtt-ms on the stand-in's HTTP answers, which only the function sees directly
(client_secrets, and calls when relayed), as inside one AWS region.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession, web
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from bench.connect.legs import record_legs, session_ids, sessions
from bench.connect.live import LIVE_STACK, add_arguments, live_rounds, live_stack, live_variants, print_live
from bench.connect.samples import PHASE_LABELS, PHASES, Variant
from bench.connect.samples import median as _median
from bench.connect.samples import p90 as _p90
from local.stack import StackProcess

CHROMIUM_ARGS = [
    "--use-fake-ui-for-media-stream",  # allow the microphone without a prompt
    "--use-fake-device-for-media-stream",  # a synthetic microphone
    "--no-sandbox",  # runs as root in CI
    "--disable-gpu",  # no GPU here
    "--disable-background-networking",  # no unrelated traffic during measurements
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",  # the stand-in is on loopback
    "--autoplay-policy=no-user-gesture-required",  # every page plays alike; playback is not measured
]

# Installed before the click: stamps the click and polls inbound audio stats until energy appears.
PROBE = """(kind) => {
  const pcOf = () => kind === 'ours'
    ? window.__realtimeVendDebug?.call.peerConnection
    : window.__referencePc;
  const bench = (window.__bench = { t0: null, firstAudio: null, pc: pcOf });
  let busy = false;
  document.addEventListener('click', () => {
    bench.t0 = performance.now();
    const timer = setInterval(async () => {
      const pc = pcOf();
      if (busy || !pc) return;
      busy = true;
      try {
        for (const s of (await pc.getStats()).values()) {
          if (s.type === 'inbound-rtp' && s.kind === 'audio' && (s.totalAudioEnergy ?? 0) > 0) {
            bench.firstAudio = performance.now();
            clearInterval(timer);
          }
        }
      } finally {
        busy = false;
      }
    }, 2);
  }, { capture: true, once: true });
}"""

# After a drop: when the page says 'reconnecting', and when a NEW peer connection carries audio energy.
DROP_PROBE = """() => {
  const debug = window.__realtimeVendDebug;
  const state = (window.__drop = { t0: performance.now(), detected: null, back: null });
  const old = debug.call.peerConnection;
  debug.call.addEventListener('statechange', (event) => {
    if (event.detail.state === 'reconnecting' && state.detected === null) state.detected = performance.now();
  });
  let busy = false;
  const timer = setInterval(async () => {
    const pc = debug.call.peerConnection;
    if (busy || !pc || pc === old) return;
    busy = true;
    try {
      for (const s of (await pc.getStats()).values()) {
        if (s.type === 'inbound-rtp' && s.kind === 'audio' && (s.totalAudioEnergy ?? 0) > 0) {
          state.back = performance.now();
          clearInterval(timer);
        }
      }
    } finally {
      busy = false;
    }
  }, 5);
}"""

# Emulates a real microphone's start-up time (opening a hardware device takes a while; Chromium's
# fake device opens at once), identically on every page. Off unless --mic-delay-ms is given.
MIC_DELAY_SCRIPT = """(() => {
  const delay = %d;
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) =>
    new Promise((resolve) => setTimeout(resolve, delay)).then(() => original(constraints));
})();"""
# Lambda's internal queue between an async Invoke's 202 and the handler (AsyncEventAge, "the time
# between when Lambda successfully queues the event and when the function is invoked": AWS Compute
# Blog, "Introducing new asynchronous invocation metrics for AWS Lambda", 2023). AWS publishes no
# typical figure; the field report lukehoban/lambdaperf measured ~125 ms per hop from one function's
# write to the next function's invocation through SQS, the fastest event source it timed.
ASYNC_QUEUE_MS = 125.0
# A new sideband connection's round trips before it is attached: TCP, TLS 1.3, HTTP upgrade.
SIDEBAND_ROUND_TRIPS = 3
VARIANTS = (
    Variant("relay", "?debug&mode=relay", "ours", "realtime-vend", companion="warm"),
    Variant("relay, no prep", "?debug&mode=relay&prepare=off", "ours", "realtime-vend"),
    Variant("client secret", "?debug&mode=client_secret", "ours", "realtime-vend"),
    Variant("client sec., no prep", "?debug&mode=client_secret&prepare=off", "ours", "realtime-vend"),
    Variant("tutorial", "reference/", "reference", "reference"),
    Variant("floor", "floor/", "reference", "floor"),
)
# The function cold or warm when the pointer reaches Connect, in each mode: the main table's pages.
COLD_VARIANTS = (
    Variant("relay, warm", "?debug&mode=relay", "ours", "realtime-vend", cold=False),
    Variant("relay, cold", "?debug&mode=relay", "ours", "realtime-vend", cold=True),
    Variant("client secret, warm", "?debug&mode=client_secret", "ours", "realtime-vend", cold=False),
    Variant("client secret, cold", "?debug&mode=client_secret", "ours", "realtime-vend", cold=True),
    # No preparation, so no warm-up: the click's request pays the init, as the page did before it warmed.
    Variant("relay, cold, no prep", "?debug&mode=relay&prepare=off", "ours", "realtime-vend", cold=True),
)
# The companion: the main table's relay (its companion warm) beside these two, on the same page.
COMPANION_VARIANTS = (
    Variant("relay, cold companion", "?debug&mode=relay", "ours", "realtime-vend", companion="cold"),
    # A stack whose vend function invokes no companion (COMPANION_FUNCTION_NAME="").
    Variant("relay, no companion", "?debug&mode=relay", "ours", "realtime-vend", stack="no companion"),
)


def _http_get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own stack
        return json.loads(response.read())


def _http(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body if body is not None else {}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback URLs of our own stack
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        raw = response.read()
    return json.loads(raw) if raw else None


class DelayProxy:
    """The browser's way to OpenAI's /v1/realtime/calls: the stand-in's answer, `delay_ms` later.

    The stand-in delays its answers alike for every caller; the function sits next to OpenAI (a few
    ms) while the browser is a continent away, so the browser's extra round trip is added here.
    Everything is passed through (status, body, CORS headers); preflights are not delayed.
    """

    def __init__(self, upstream: str, delay_ms: float) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay = delay_ms / 1000
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> DelayProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._client.close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._client = ClientSession()
        app = web.Application(client_max_size=1 << 20)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.method != "OPTIONS":
            await asyncio.sleep(self.delay)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._client.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as upstream:
            payload = await upstream.read()
            passed = {
                k: v
                for k, v in upstream.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding", "content-encoding", "connection")
            }
            return web.Response(status=upstream.status, body=payload, headers=passed)


def _point_pages_at(context: BrowserContext, proxy: DelayProxy | None) -> None:
    """The pages' config.json names the delaying proxy as OpenAI's calls URL."""
    if proxy is None:
        return

    def rewrite(route: Route) -> None:
        if route.request.method != "GET":  # the page's HEAD that warms the API connection
            route.fallback()
            return
        # Without the validators: a 304 has no body to rewrite.
        headers = {k: v for k, v in route.request.headers.items() if not k.lower().startswith("if-")}
        response = route.fetch(headers=headers)
        config = response.json()
        if isinstance(config.get("realtimeCallsUrl"), str):
            path = "/" + config["realtimeCallsUrl"].split("/", 3)[3]
            config["realtimeCallsUrl"] = proxy.url + path
        route.fulfill(response=response, json=config)

    context.route("**/config.json", rewrite)


def _new_context(browser: Browser, proxy: DelayProxy | None) -> BrowserContext:
    # The pages' CSP names the stand-in's origin, not the proxy's; bypassed alike on every page.
    context = browser.new_context(bypass_csp=proxy is not None)
    _point_pages_at(context, proxy)
    return context


def measure_connect(
    browser: Browser,
    url: str,
    variant: Variant,
    args: argparse.Namespace,
    proxy: DelayProxy | None,
    *,
    init_ms: float = 0.0,
    companion: Companion | None = None,
    standin_url: str | None = None,
) -> None:
    context = _new_context(browser, proxy)
    if args.mic_delay_ms:
        context.add_init_script(MIC_DELAY_SCRIPT % args.mic_delay_ms)
    try:
        page = context.new_page()
        page.goto(url + variant.path)
        button = page.get_by_role("button", name="Connect", exact=True)
        try:
            button.wait_for(state="visible")
            page.wait_for_function("() => !document.getElementById('connect').disabled")
        except PlaywrightTimeoutError:
            variant.failures += 1
            status = page.locator("body").inner_text()[:300].replace("\n", " ")
            print(f"{variant.name}: Connect never became usable; the page says: {status}", flush=True)
            return
        page.evaluate(PROBE, variant.kind)
        watch = companion.before_click(variant) if companion and variant.companion else None
        # The relays' (and the floor's) steps to the answer, timed at the stand-in (bench/connect/legs.py).
        legged = variant.companion is not None or variant.stack == "no companion" or variant.name == "floor"
        calls_before = session_ids(standin_url) if standin_url and legged else None
        if variant.cold:
            # No execution environment is warm: the next invocation pays Lambda's init first.
            _http("POST", f"{url}__local/faults", {"cold_start_ms": init_ms})
        # The pointer reaches the button, rests there as a person's would, then clicks.
        button.hover()
        page.wait_for_timeout(args.intent_ms if variant.cold is None else args.cold_intent_ms)
        button.click()
        try:
            page.wait_for_function("() => window.__bench.firstAudio !== null", timeout=20_000)
        except PlaywrightTimeoutError:
            variant.failures += 1
            print(f"{variant.name}: no audio 20 s after the click", flush=True)
            return
        page.wait_for_function(
            "(mark) => performance.getEntriesByName(mark).length > 0",
            arg=f"{variant.mark_prefix}:channel-open",
        )
        t0, first_audio, marks = page.evaluate(
            """([prefix, phases]) => [
                window.__bench.t0,
                window.__bench.firstAudio,
                phases.map((p) => performance.getEntriesByName(`${prefix}:${p}`).at(-1)?.startTime ?? null),
            ]""",
            [variant.mark_prefix, list(PHASES)],
        )
        variant.first_audio_ms.append(first_audio - t0)
        for phase, at in zip(PHASES, marks, strict=True):
            if at is not None:
                variant.phases_ms[phase].append(at - t0)
        if calls_before is not None and standin_url:
            record_legs(page, variant, standin_url, calls_before)
        if watch is not None and companion is not None:
            # Before the hangup (after first audio, so not in its time): a call ended first has no
            # sideband to attach to.
            companion.record_attach(variant, watch)
        if "mode=relay" in variant.path:
            _hang_up(page)
    finally:
        context.close()


@dataclass
class Companion:
    """The companion's side of a relayed run: its Lambda (the stack's Invoke emulation) and the
    stand-in's record of when the answer left and when a sideband attached."""

    lambda_endpoint: str
    standin_url: str
    init_ms: float

    def settle(self) -> None:
        """Waits (≤ 15 s) until no companion is queued or running: the last run's companion has
        returned (its call hung up), so a warm run finds its environment idle."""
        bound = time.monotonic() + 15
        while time.monotonic() < bound:
            listed = _http_get(f"{self.lambda_endpoint}/__local/invocations")
            if not any(record["state"] in ("queued", "init", "running") for record in listed):
                return
            time.sleep(0.05)

    def before_click(self, variant: Variant) -> tuple[set[str], int]:
        self.settle()
        if variant.companion == "cold":
            _http("POST", f"{self.lambda_endpoint}/__local/faults", {"init_ms": self.init_ms})
        return session_ids(self.standin_url), len(_http_get(f"{self.lambda_endpoint}/__local/invocations"))

    def record_attach(self, variant: Variant, watch: tuple[set[str], int]) -> None:
        before, invoked = watch
        bound = time.monotonic() + 15
        while time.monotonic() < bound:
            new = [
                call
                for call in sessions(self.standin_url)
                if call["id"] not in before and call.get("answered_at")
            ]
            attached = [c for call in new for c in call["sidebands"]["connections"]]
            records = _http_get(f"{self.lambda_endpoint}/__local/invocations")[invoked:]
            if len(new) == 1 and attached and records:
                answered = new[0]["answered_at"]
                first = min(c["attached_at"] for c in attached)
                record = records[0]
                variant.attach_ms["cold" if record["cold"] else "warm"].append((first - answered) * 1000)
                started = record["started"] if record["started"] is not None else first
                variant.attach_steps_ms.append(
                    (
                        (record["queued"] - answered) * 1000,
                        (started - record["queued"]) * 1000,
                        (first - started) * 1000,
                    )
                )
                return
            time.sleep(0.02)
        variant.never_attached += 1
        print(f"{variant.name}: no companion attached 15 s after the answer", flush=True)


def _hang_up(page: Page) -> None:
    """Ends a relayed call through the page (its DELETE frees the visitor's lease at once)."""
    try:
        with page.expect_response(lambda response: response.request.method == "DELETE", timeout=10_000):
            page.get_by_role("button", name="Disconnect", exact=True).click(timeout=5_000)
    except PlaywrightTimeoutError:
        print("a relayed call could not be hung up (its lease lasts until its cap)", flush=True)


def _open_call(
    browser: Browser, url: str, mode: str, standin_url: str, proxy: DelayProxy | None
) -> tuple[BrowserContext, Page, str]:
    context = _new_context(browser, proxy)
    page = context.new_page()
    page.goto(f"{url}?debug&mode={mode}")
    before = {call["id"] for call in _http("GET", f"{standin_url}/__standin/state")["calls"]}
    page.get_by_role("button", name="Connect", exact=True).click()
    page.locator("#status-label").filter(has_text="Connected").wait_for()
    page.wait_for_function(
        """async () => {
            const s = await window.__realtimeVendDebug.call.inboundAudioStats();
            return s !== null && s.totalAudioEnergy > 0;
        }""",
        polling=20,
    )
    calls = _http("GET", f"{standin_url}/__standin/state")["calls"]
    (call_id,) = [call["id"] for call in calls if call["id"] not in before and call["state"] == "connected"]
    return context, page, call_id


def measure_drops(
    launch: Callable[[], Browser],
    url: str,
    mode: str,
    runs: int,
    *,
    standin_url: str,
    proxy: DelayProxy | None,
) -> list[tuple[float, float]]:
    """(drop → 'reconnecting', drop → audio again) in ms, for `runs` calls dropped mid-call one by one.

    Each call has a browser of its own, so each page is the front tab of its window: Chromium runs a
    background tab's timers once a second and its WebRTC statistics then show gaps of ~1 s on a live
    path (the page reads those as a remote that pauses, and falls back to its slower signal).
    """
    browsers = [launch() for _ in range(runs)]
    steps: list[tuple[float, float]] = []
    opened = [(time.monotonic(), *_open_call(b, url, mode, standin_url, proxy)) for b in browsers]
    results = []
    try:
        for started, _, page, call_id in opened:
            # Past the page's stableSessionMs (20 s): a mid-call drop, not a failed start.
            time.sleep(max(0.0, started + 21.0 - time.monotonic()))
            # The tab in front, as one open beside the others would be: hidden tabs' timers run at 1 Hz.
            page.bring_to_front()
            page.evaluate(DROP_PROBE)
            _http("POST", f"{standin_url}/__standin/drop", {"call_id": call_id})
            try:
                page.wait_for_function("() => window.__drop.back !== null", timeout=30_000, polling=50)
            except PlaywrightTimeoutError:
                state = page.evaluate("() => [window.__drop, window.__realtimeVendDebug.call.state]")
                print(f"drop, {mode}: no audio 30 s after the drop: {state}", flush=True)
                continue
            detected, back, answer, channel = page.evaluate(
                """() => {
                    const { t0, detected, back } = window.__drop;
                    const last = (name) => (performance.getEntriesByName(name).at(-1)?.startTime ?? NaN) - t0;
                    return [detected - t0, back - t0, last('realtime-vend:answer'),
                        last('realtime-vend:channel-open')];
                }"""
            )
            results.append((float(detected), float(back)))
            steps.append((float(answer), float(channel)))
    finally:
        for _, context, page, _ in opened:
            if mode == "relay":
                _hang_up(page)
            context.close()
        for each in browsers:
            each.close()
    if steps:
        answers, channels = [a for a, _ in steps], [c for _, c in steps]
        print(
            f"drop, {mode}: the new session's answer {_median(answers):.0f} ms and channel open "
            f"{_median(channels):.0f} ms after the drop (medians)",
            flush=True,
        )
    return results


def _print_table(
    variants: list[Variant],
    cold: list[Variant],
    drops: dict[str, list[tuple[float, float]]],
    args: argparse.Namespace,
    init: dict[str, Any],
) -> None:
    by_name = {v.name: v for v in variants}
    relay, tutorial, floor = by_name["relay"], by_name["tutorial"], by_name["floor"]
    width = 22
    print()
    print(
        f"Connect benchmark — Chromium, local stack, {args.runs} runs each; RTT browser↔API "
        f"{args.api_rtt_ms:g} ms, browser↔Realtime {args.realtime_rtt_ms} ms (HTTP and media), "
        f"function↔OpenAI {args.function_rtt_ms} ms"
    )
    print(f"medians; times from the click; the pointer rests on Connect {args.intent_ms} ms before it")
    if args.mic_delay_ms:
        print(
            f"(getUserMedia delayed by {args.mic_delay_ms} ms on every page, as a hardware microphone would)"
        )

    def table(columns: list[Variant]) -> None:
        header = f"{'':34}" + "".join(f"{v.name:>{width}}" for v in columns)
        print(header)
        print("-" * len(header))
        for phase, label in zip(PHASES, PHASE_LABELS, strict=True):
            row(f"click → {label}", [ms(v.phases_ms[phase]) for v in columns])
        row("click → first remote audio", [ms(v.first_audio_ms) for v in columns])
        row("first audio p90", [f"{_p90(v.first_audio_ms):.0f} ms" for v in columns])
        row("runs without audio", [str(v.failures) for v in columns])

    def row(label: str, cells: list[str]) -> None:
        print(f"{label:34}" + "".join(f"{cell:>{width}}" for cell in cells))

    def ms(values: list[float]) -> str:
        return f"{_median(values):.0f} ms" if values else "-"

    def verdict(met: bool) -> str:
        return "met" if met else "NOT met"

    table(variants)
    t, f = _median(tutorial.first_audio_ms), _median(floor.first_audio_ms)
    row("÷ tutorial", [f"{_median(v.first_audio_ms) / t:.2f}x" for v in variants])
    row(
        "÷ floor (goal relay ≤ 1.05)",
        [f"{_median(v.first_audio_ms) / f:.2f}x" for v in variants],
    )
    print()
    r, r90, f90 = _median(relay.first_audio_ms), _p90(relay.first_audio_ms), _p90(floor.first_audio_ms)
    print(
        f"relay ÷ floor = {r / f:.2f} at p50 (goal ≤ 1.05: {verdict(r / f <= 1.05)}), "
        f"{r90 / f90:.2f} at p90; floor ÷ tutorial = {f / t:.2f}, relay ÷ tutorial = {r / t:.2f}"
    )
    for mode, prepared in (("relay", relay), ("client secret", by_name["client secret"])):
        unprepared = by_name["relay, no prep" if mode == "relay" else "client sec., no prep"]
        p50, p90 = _median(prepared.first_audio_ms), _p90(prepared.first_audio_ms)
        u50, u90 = _median(unprepared.first_audio_ms), _p90(unprepared.first_audio_ms)
        print(
            f"preparing on pointer/focus, {mode}: p50 {p50:.0f} ms prepared vs {u50:.0f} ms not "
            f"({u50 - p50:+.0f} ms saved), p90 {p90:.0f} vs {u90:.0f} ms ({u90 - p90:+.0f} ms saved); "
            f"goal: no worse at p50 and p90: {verdict(p50 <= u50 and p90 <= u90)}"
        )
    # The critical path: what separates the click from first audio, step by step, on the relay page.
    answer, channel = _median(relay.phases_ms["answer"]), _median(relay.phases_ms["channel-open"])
    print(
        f"relay critical path: click → answer {answer:.0f} ms (offer, /api/call: API RTT + function + "
        f"OpenAI) · answer → channel open {channel - answer:.0f} ms (ICE, DTLS, SCTP over the media RTT) · "
        f"→ first audio {r - channel:+.0f} ms"
    )
    if cold:
        print()
        print(
            f"A cold function: Lambda's init {init['init_ms']:.0f} ms under the CPU model "
            f"({init['source']}); the pointer rests on Connect {args.cold_intent_ms} ms before the click"
        )
        table(cold)
        pairs = {v.name: v for v in cold}
        for mode in ("relay", "client secret"):
            warm, cold_one = pairs[f"{mode}, warm"], pairs[f"{mode}, cold"]
            c50, w50 = _median(cold_one.first_audio_ms), _median(warm.first_audio_ms)
            print(
                f"{mode}: cold + {args.cold_intent_ms} ms on Connect → first audio {c50:.0f} ms "
                f"(p90 {_p90(cold_one.first_audio_ms):.0f}) vs warm {w50:.0f} ms "
                f"(p90 {_p90(warm.first_audio_ms):.0f}): {c50 / w50:.2f}x "
                f"(goal ≤ 1.1: {verdict(c50 / w50 <= 1.1)})"
            )
        unwarmed = _median(pairs["relay, cold, no prep"].first_audio_ms)
        print(
            f"relay, cold without the warm-up (?prepare=off): {unwarmed:.0f} ms, "
            f"{unwarmed / _median(pairs['relay, warm'].first_audio_ms):.2f}x the warm figure"
        )
    for mode, samples in drops.items():
        if samples:
            detected = [d for d, _ in samples]
            back = [b for _, b in samples]
            print(
                f"drop mid-call, {mode} ({len(samples)} runs): → 'reconnecting' {_median(detected):.0f} ms "
                f"(max {max(detected):.0f}), → audio again {_median(back):.0f} ms (max {max(back):.0f}); "
                f"goal < 3000 ms: {verdict(_median(back) < 3000)}"
            )
    print()


def companion_init_ms(runs: int) -> float:
    """The companion's Lambda init under the same CPU model: the median of `runs` fresh processes, each
    importing vend.companion.handler in a cgroup capped at 1 vCPU (nothing invoked; needs root)."""
    from bench.lambda_model import function_memory_mb  # noqa: PLC0415 - only when the bench measures it
    from bench.lambda_sandbox import sandbox  # noqa: PLC0415

    env = {"AWS_LAMBDA_FUNCTION_NAME": "realtime-vend-companion"}
    with sandbox(function_memory_mb(function="CompanionFunction")) as box:
        child = "bench.coldstart.init_child"
        figures = [box.run(child, ["vend.companion.handler"], env) for _ in range(runs)]
    return float(statistics.median(f["init_ms"] for f in figures))


def _print_companion(
    relay: Variant, others: list[Variant], args: argparse.Namespace, init: dict[str, Any]
) -> None:
    """The companion's attach, warm and cold, and relay with and without it."""
    by_name = {v.name: v for v in others}
    cold_one, bare = by_name["relay, cold companion"], by_name["relay, no companion"]
    with_companion = [relay, cold_one]
    warm = [ms for v in with_companion for ms in v.attach_ms["warm"]]
    cold = [ms for v in with_companion for ms in v.attach_ms["cold"]]
    print(
        f"The companion (relay): SDP answer leaving the stand-in (the function has it then: the injected "
        f"RTT is paid before the answer) → the companion's sideband attached at the stand-in.\nInjected: "
        f"Lambda's async queue {args.async_queue_ms:g} ms; the sideband's TCP + TLS 1.3 + HTTP upgrade "
        f"{SIDEBAND_ROUND_TRIPS} x {args.function_rtt_ms} ms; when cold, the companion's init "
        f"{init['init_ms']:.0f} ms (1 vCPU, {init['source']})"
    )
    width = 24

    def row(label: str, cells: list[str]) -> None:
        print(f"{label:38}" + "".join(f"{cell:>{width}}" for cell in cells))

    def cell(values: list[float]) -> str:
        return f"{_median(values):.0f} / {_p90(values):.0f} ms" if values else "-"

    columns = [relay, cold_one, bare]
    names = ("relay (companion)", cold_one.name, bare.name)
    header = f"{'':38}" + "".join(f"{name:>{width}}" for name in names)
    print(header)
    print("-" * len(header))
    row("click → SDP answer in hand p50 / p90", [cell(v.phases_ms["answer"]) for v in columns])
    row("answer sent → page has it p50 / p90", [cell(v.answer_leg_ms) for v in columns])
    row("click → first remote audio p50 / p90", [cell(v.first_audio_ms) for v in columns])
    row("attach, warm companion p50 / p90", [cell(v.attach_ms["warm"]) for v in columns[:2]] + ["-"])
    row("attach, cold companion p50 / p90", [cell(v.attach_ms["cold"]) for v in columns[:2]] + ["-"])
    steps = ("answer → Invoke accepted", "→ handler called (queue, init)", "→ sideband attached")
    for index, label in enumerate(steps):
        medians = [_median([step[index] for step in v.attach_steps_ms]) for v in columns[:2]]
        row(f"  {label} p50", [f"{m:.0f} ms" for m in medians] + ["-"])
    row("runs without audio / never attached", [f"{v.failures} / {v.never_attached}" for v in columns])
    verdict = lambda met: "met" if met else "NOT met"  # noqa: E731
    w50, c50 = _median(warm), _median(cold)
    print(
        f"companion attach p50: warm {w50:.0f} ms (p90 {_p90(warm):.0f}, {len(warm)} runs), "
        f"cold {c50:.0f} ms (p90 {_p90(cold):.0f}, {len(cold)} runs); "
        f"goal ≤ 1000 ms: warm {verdict(w50 <= 1000)}, cold {verdict(c50 <= 1000)}"
    )
    r50, b50 = _median(relay.first_audio_ms), _median(bare.first_audio_ms)
    r90, b90 = _p90(relay.first_audio_ms), _p90(bare.first_audio_ms)
    a50, ab50 = _median(relay.phases_ms["answer"]), _median(bare.phases_ms["answer"])
    print(
        f"relay click → first audio with ÷ without the companion: {r50 / b50:.2f} at p50 ({r50:.0f} vs "
        f"{b50:.0f} ms), {r90 / b90:.2f} at p90; click → SDP answer {a50 / ab50:.2f} "
        f"({a50:.0f} vs {ab50:.0f} ms); goal not slower (≤ 1.05 at p50, this machine's run-to-run "
        f"noise): {verdict(r50 / b50 <= 1.05)}"
    )
    print()


def lambda_init_ms(runs: int) -> dict[str, float]:
    """Lambda's init of our handler under bench/coldstart's CPU model: the median of `runs` fresh
    processes, each importing vend.app in a cgroup capped at 1 vCPU (needs root)."""
    from bench.coldstart.run import cold_start  # noqa: PLC0415 - only when the bench measures it
    from bench.lambda_model import function_memory_mb  # noqa: PLC0415
    from bench.lambda_sandbox import sandbox  # noqa: PLC0415

    with sandbox(function_memory_mb()) as box:
        figures = [cold_start(box, "vend.app", "ours", {}) for _ in range(runs)]
    return {
        "init_ms": statistics.median(f["init_ms"] for f in figures),
        "first_ms": statistics.median(f["first_ms"] for f in figures),
        "second_ms": statistics.median(f["second_ms"] for f in figures),
    }


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.connect", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--drop-runs", type=int, default=4, help="per mode")
    parser.add_argument("--api-rtt-ms", type=float, default=40.0)
    parser.add_argument("--realtime-rtt-ms", type=int, default=80)
    parser.add_argument("--function-rtt-ms", type=int, default=10, help="function ↔ OpenAI, one AWS region")
    parser.add_argument("--intent-ms", type=int, default=300, help="pointer on the button before the click")
    parser.add_argument(
        "--mic-delay-ms", type=int, default=0, help="emulate a hardware microphone's start-up time"
    )
    parser.add_argument(
        "--cold-intent-ms", type=int, default=1000, help="pointer on the button, cold vs warm"
    )
    parser.add_argument(
        "--cold-runs", type=int, default=3, help="processes that measure Lambda's init (0: no cold rows)"
    )
    parser.add_argument("--init-ms", type=float, help="Lambda's init, instead of measuring it (--cold-runs)")
    parser.add_argument(
        "--companion-init-ms",
        type=float,
        help="the companion's Lambda init, instead of measuring it (median of --cold-runs, or 3)",
    )
    parser.add_argument(
        "--async-queue-ms",
        type=float,
        default=ASYNC_QUEUE_MS,
        help="Lambda's internal queue before an async invocation's first attempt",
    )
    parser.add_argument("--json", action="store_true", help="also print the raw samples as JSON")
    add_arguments(parser)
    parser.add_argument("stack_args", nargs="*", help="extra arguments for local.stack (after --)")
    return parser.parse_args(argv)


def _inits(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """Lambda's init of the vend function (empty: no cold rows) and of the companion, measured first,
    alone: the browser and the stack would compete with the capped process for the CPU."""
    init: dict[str, Any] = {}
    if args.init_ms is not None:
        init = {"init_ms": args.init_ms, "source": "given with --init-ms"}
    elif args.cold_runs:
        measured = lambda_init_ms(args.cold_runs)
        init = measured | {
            "source": f"median of {args.cold_runs} fresh processes; the 1st invocation then "
            f"{measured['first_ms']:.0f} ms, a warm one {measured['second_ms']:.0f} ms"
        }
    if args.companion_init_ms is not None:
        companion_init = {"init_ms": args.companion_init_ms, "source": "given with --companion-init-ms"}
    else:
        runs = args.cold_runs or 3
        companion_init = {
            "init_ms": companion_init_ms(runs),
            "source": f"vend.companion.handler, median of {runs} fresh processes",
        }
    return init, companion_init


def _limits(args: argparse.Namespace) -> list[str]:
    """Every stack's limits and API latency (and the arguments given after --)."""
    # Every run mints or opens a call: the limits that guard a public stack would refuse the bench's own.
    limits = ["--quota-per-visitor", "10000", "--daily-cap", "1000000"]
    limits += ["--concurrent-calls", "10", "--call-minutes-per-visitor", "1440", "--max-call-seconds", "3600"]
    return [*limits, "--api-latency-ms", f"{args.api_rtt_ms:g}", *args.stack_args]


def _inject_latency(
    stacks: dict[str, StackProcess], args: argparse.Namespace, companion_init_ms: float
) -> dict[str, Companion]:
    """The same latencies on every stack's stand-in and companion; the companions, by stack."""
    companions = {}
    for name, each in stacks.items():
        _http(
            "PATCH",
            f"{each.standin_url}/__standin/options",
            {
                "calls_delay_ms": args.function_rtt_ms,
                "client_secrets_delay_ms": args.function_rtt_ms,
                "media_delay_ms": args.realtime_rtt_ms // 2,
                # A new connection's TCP, TLS 1.3 and HTTP upgrade: three round trips.
                "sideband_delay_ms": SIDEBAND_ROUND_TRIPS * args.function_rtt_ms,
            },
        )
        if each.ready.get("companion"):
            endpoint = each.ready["lambda_endpoint"]
            _http("POST", f"{endpoint}/__local/faults", {"queue_ms": args.async_queue_ms})
            companions[name] = Companion(endpoint, str(each.standin_url), companion_init_ms)
    return companions


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    variants = [variant.fresh() for variant in VARIANTS]
    init, companion_init = _inits(args)
    cold = [variant.fresh() for variant in COLD_VARIANTS] if init else []
    with_companion = [variant.fresh() for variant in COMPANION_VARIANTS]
    live = live_variants(args)
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is needed: scripts/bootstrap --browser")
    limits = _limits(args)
    stack_args = ["--port", "0", "--mode", "both"]
    stack_args += [
        "--static",
        "/reference/=bench/connect/reference",
        "--static",
        "/floor/=bench/connect/floor",
        *limits,
    ]
    started = time.perf_counter()
    with (
        StackProcess(*stack_args) as stack,
        StackProcess(*stack_args, "--no-companion") as bare,
        live_stack(args, limits) as live_one,
        sync_playwright() as playwright,
    ):
        stacks = {"main": stack, "no companion": bare} | ({LIVE_STACK: live_one} if live_one else {})
        if any(each.standin_url is None for each in stacks.values()):
            raise SystemExit("the benchmark runs against the local stand-in; unset OPENAI_API_KEY")
        if not stack.ready.get("companion") or bare.ready.get("companion"):
            raise SystemExit("the main stack must invoke a companion, the other none")
        if live_one and not live_one.ready.get("companion"):
            raise SystemExit("the GPT-Live stack must invoke a companion")
        companions = _inject_latency(stacks, args, float(companion_init["init_ms"]))

        def launch() -> Browser:
            return playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)

        browser = launch()
        extra_rtt = args.realtime_rtt_ms - args.function_rtt_ms
        with (
            DelayProxy(stack.standin_url, extra_rtt) as proxy,
            DelayProxy(bare.standin_url, extra_rtt) as bare_proxy,
        ):
            # One warm-up each (first-use costs in the browser and the handler are not what we compare),
            # then interleaved runs so drift in machine load hits every variant alike.
            init_ms = float(init.get("init_ms", 0.0))
            # The browser posts to OpenAI only with a client secret: the GPT-Live page never does.
            proxies = {"main": proxy, "no companion": bare_proxy}

            def run(variant: Variant) -> None:
                on = stacks[variant.stack]
                measure_connect(
                    browser,
                    on.url,
                    variant,
                    args,
                    proxies.get(variant.stack),
                    init_ms=init_ms,
                    companion=companions.get(variant.stack),
                    standin_url=on.standin_url,
                )

            for variant in variants + cold + with_companion + live:
                run(variant.fresh())
            for round_ in range(args.runs):
                live_now = live if round_ < live_rounds(args) else []  # --live-runs: the first rounds
                for variant in variants + cold + with_companion + live_now:
                    for each in companions.values():
                        each.settle()  # no companion of an earlier run still running beside this one
                    for each in stacks.values():
                        _http("POST", f"{each.standin_url}/__standin/reset")
                    run(variant)
            for each in companions.values():
                each.settle()
            _http("POST", f"{stack.standin_url}/__standin/reset")
            drops = {
                mode: measure_drops(
                    launch, stack.url, mode, args.drop_runs, standin_url=stack.standin_url, proxy=proxy
                )
                for mode in ("relay", "client_secret")
                if args.drop_runs
            }
        browser.close()
    _print_table(variants, cold, drops, args, init)
    _print_companion(variants[0], with_companion, args, companion_init)
    by_name = {v.name: v for v in variants + with_companion}
    print_live(live, by_name["relay"], by_name["floor"], by_name["relay, cold companion"], args)
    print(f"(measured in {time.perf_counter() - started:.0f} s)")
    if args.json:
        samples = {
            v.name: {
                **v.phases_ms,
                "first_audio_ms": v.first_audio_ms,
                "attach_ms": v.attach_ms,
                "before_create_ms": v.before_create_ms,
                "create_ms": v.create_ms,
                "answer_leg_ms": v.answer_leg_ms,
            }
            for v in variants + cold + with_companion + live
        }
        print(json.dumps(samples | {"drop_ms": drops}))


if __name__ == "__main__":
    main()
