"""Measures how fast a call gets going, in Chromium against the local stack, with network latency.

    .venv/bin/python -m bench.connect [--runs 10] [--drop-runs 10]

For OUR page and for a REFERENCE page that follows the tutorials' sequential flow
(bench/connect/reference/, also run with ?wait-ice, the variant that waits for ICE gathering), it
takes the median over N fresh browser contexts of the time from the click to:
  * the `oai-events` data channel opening;
  * first remote audio: the first inbound RTP audio with totalAudioEnergy > 0 (the stand-in's voice
    track is never digitally silent, so this is when media actually flows end to end; it does not
    wait for the assistant to decide to speak, which is the model's time, not the connection's).
It also measures, on our page, the median time from a network drop (the stand-in blackholes the
media path) to the page noticing it (Chromium's ICE `disconnected` plus our grace period) and to
audio flowing again on a new connection, and each page's weight (bytes over the wire, headers
included, on a cold first load, uncompressed as the local server sends it).

Latency is injected where the network would add it: --api-rtt-ms on every /api request (the local
stack's API Gateway adapter), --realtime-rtt-ms on the stand-in's HTTP answers (client_secrets, as
seen from the Lambda, and calls, as seen from the browser) and half of it each way on every UDP
packet of the media path.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Browser, sync_playwright

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
    "--autoplay-policy=no-user-gesture-required",  # both pages play alike; playback is not measured
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

# After a drop: time until a NEW peer connection carries audio energy.
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
PHASES = ("secret-ready", "answer", "channel-open")


@dataclass
class Variant:
    name: str
    path: str
    kind: str  # 'ours' or 'reference'
    mark_prefix: str  # performance marks '<prefix>:secret-ready' etc.
    phases_ms: dict[str, list[float]] = field(default_factory=lambda: {phase: [] for phase in PHASES})
    first_audio_ms: list[float] = field(default_factory=list)
    page_bytes: int = 0
    page_requests: int = 0

    def fresh(self) -> Variant:
        return Variant(self.name, self.path, self.kind, self.mark_prefix)


def _http(method: str, url: str, body: dict[str, Any] | None = None) -> None:
    data = json.dumps(body if body is not None else {}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback URLs of our own stack
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


def measure_connect(browser: Browser, url: str, variant: Variant, mic_delay_ms: int) -> None:
    context = browser.new_context()
    if mic_delay_ms:
        context.add_init_script(MIC_DELAY_SCRIPT % mic_delay_ms)
    try:
        page = context.new_page()
        page.goto(url + variant.path)
        button = page.get_by_role("button", name="Connect", exact=True)
        button.wait_for(state="visible")
        page.wait_for_function("() => !document.getElementById('connect').disabled")
        page.evaluate(PROBE, variant.kind)
        button.click()
        page.wait_for_function("() => window.__bench.firstAudio !== null", timeout=20_000)
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
    finally:
        context.close()


def measure_drop(browser: Browser, url: str, standin_url: str) -> tuple[float, float]:
    """(drop → the page notices and starts reconnecting, drop → audio again) in ms."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url + "?debug")
        page.get_by_role("button", name="Connect", exact=True).click()
        page.locator("#status-label").filter(has_text="Connected").wait_for()
        page.wait_for_function(
            """async () => {
                const s = await window.__realtimeVendDebug.call.inboundAudioStats();
                return s !== null && s.totalAudioEnergy > 0;
            }""",
            polling=20,
        )
        page.evaluate(DROP_PROBE)
        _http("POST", f"{standin_url}/__standin/drop")
        page.wait_for_function("() => window.__drop.back !== null", timeout=60_000, polling=50)
        detected, back = page.evaluate(
            "() => [window.__drop.detected - window.__drop.t0, window.__drop.back - window.__drop.t0]"
        )
        return float(detected), float(back)
    finally:
        context.close()


def measure_weight(browser: Browser, url: str, variant: Variant) -> None:
    """Bytes over the wire (headers + bodies) for a cold first load, before any click."""
    context = browser.new_context()
    try:
        page = context.new_page()
        responses: list[Any] = []
        page.on("requestfinished", lambda request: responses.append(request))  # noqa: PLW0108 - Playwright
        # tags handlers with an attribute, which a bound builtin method cannot carry
        page.goto(url + variant.path, wait_until="networkidle")
        total = 0
        for request in responses:
            sizes = request.sizes()
            total += sizes["responseHeadersSize"] + sizes["responseBodySize"]
        variant.page_bytes = total
        variant.page_requests = len(responses)
    finally:
        context.close()


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _print_table(
    variants: list[Variant], drop_ms: list[tuple[float, float]], args: argparse.Namespace
) -> None:
    ours = variants[0]
    print()
    print(
        f"Connect benchmark — Chromium, local stack, {args.runs} runs each, "
        f"API RTT {args.api_rtt_ms:g} ms, Realtime RTT {args.realtime_rtt_ms:g} ms (HTTP and media)"
    )
    if args.mic_delay_ms:
        print(
            f"(getUserMedia delayed by {args.mic_delay_ms} ms on every page, as a hardware microphone would)"
        )
    print("medians; times from the click")
    header = f"{'':34}" + "".join(f"{v.name:>22}" for v in variants)
    print(header)
    print("-" * len(header))

    def row(label: str, cells: list[str]) -> None:
        print(f"{label:34}" + "".join(f"{cell:>22}" for cell in cells))

    for phase, label in zip(
        PHASES, ("client secret in hand", "SDP answer in hand", "data channel open"), strict=True
    ):
        row(f"click → {label}", [f"{_median(v.phases_ms[phase]):.0f} ms" for v in variants])
    row("click → first remote audio", [f"{_median(v.first_audio_ms):.0f} ms" for v in variants])
    row(
        "first audio, ours ÷ this",
        [f"{_median(ours.first_audio_ms) / _median(v.first_audio_ms):.2f}x" for v in variants],
    )
    row("first audio p90", [f"{_p90(v.first_audio_ms):.0f} ms" for v in variants])
    row(
        "page weight, cold load", [f"{v.page_bytes / 1024:.1f} KiB / {v.page_requests} req" for v in variants]
    )
    if drop_ms:
        detected = [d for d, _ in drop_ms]
        back = [b for _, b in drop_ms]
        row(f"drop → reconnecting (median of {len(drop_ms)})", [f"{_median(detected):.0f} ms", "n/a", "n/a"])
        row(f"drop → audio again (median of {len(drop_ms)})", [f"{_median(back):.0f} ms", "n/a", "n/a"])
    print()


def _p90(values: list[float]) -> float:
    if len(values) < 2:
        return _median(values)
    return statistics.quantiles(values, n=10)[-1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.connect", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--drop-runs", type=int, default=10)
    parser.add_argument("--api-rtt-ms", type=float, default=40.0)
    parser.add_argument("--realtime-rtt-ms", type=int, default=80)
    parser.add_argument(
        "--mic-delay-ms", type=int, default=0, help="emulate a hardware microphone's start-up time"
    )
    parser.add_argument("--json", action="store_true", help="also print the raw samples as JSON")
    parser.add_argument("stack_args", nargs="*", help="extra arguments for local.stack (after --)")
    args = parser.parse_args(argv)

    variants = [
        Variant("ours", "?debug", "ours", "realtime-vend"),
        Variant("reference", "reference/", "reference", "reference"),
        Variant("reference + ICE wait", "reference/?wait-ice", "reference", "reference"),
    ]
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is needed: scripts/bootstrap --browser")
    # Every reconnect mints: the quotas that guard a public stack would refuse the bench's own runs.
    stack_args = ["--port", "0", "--static", "/reference/=bench/connect/reference"]
    stack_args += ["--quota-per-visitor", "10000", "--daily-cap", "1000000"]
    stack_args += ["--api-latency-ms", f"{args.api_rtt_ms:g}", *args.stack_args]
    with StackProcess(*stack_args) as stack, sync_playwright() as playwright:
        if stack.standin_url is None:
            raise SystemExit("the benchmark runs against the local stand-in; unset OPENAI_API_KEY")
        rtt = args.realtime_rtt_ms
        _http(
            "PATCH",
            f"{stack.standin_url}/__standin/options",
            {"calls_delay_ms": rtt, "client_secrets_delay_ms": rtt, "media_delay_ms": rtt // 2},
        )
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        started = time.perf_counter()
        for variant in variants:
            measure_weight(browser, stack.url, variant)
        # One warm-up each (first-use costs in the browser and the handler are not what we compare),
        # then interleaved runs so drift in machine load hits every variant alike.
        for variant in variants:
            measure_connect(browser, stack.url, variant.fresh(), args.mic_delay_ms)
        for _ in range(args.runs):
            for variant in variants:
                _http("POST", f"{stack.standin_url}/__standin/reset")
                measure_connect(browser, stack.url, variant, args.mic_delay_ms)
        drop_ms = []
        for _ in range(args.drop_runs):
            _http("POST", f"{stack.standin_url}/__standin/reset")
            drop_ms.append(measure_drop(browser, stack.url, stack.standin_url))
        browser.close()
    _print_table(variants, drop_ms, args)
    print(f"(measured in {time.perf_counter() - started:.0f} s)")
    if args.json:
        samples = {v.name: {**v.phases_ms, "first_audio_ms": v.first_audio_ms} for v in variants}
        print(json.dumps(samples | {"drop_ms": drop_ms}))


if __name__ == "__main__":
    main()
