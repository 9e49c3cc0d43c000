"""GPT-Live relay beside Realtime relay and the floor, in the same bench.connect run.

Our page against a third local stack started with `--voice-api live` (GPT-Live is relayed only: the
function posts the offer as JSON to `POST /v1/live/sessions`), run by run with the other variants.
The same latencies are injected as on the Realtime relay: --api-rtt-ms on every /api request,
--function-rtt-ms on the stand-in's answer to the function's create, half of --realtime-rtt-ms each
way on every media packet, three function↔OpenAI round trips before a sideband's upgrade is answered,
and Lambda's async queue before the companion runs. In neither relay does the browser post to OpenAI,
so neither needs the delaying proxy.

It prints, p50 and p90, click → data channel open and → first remote audio for live relay, Realtime
relay and the floor; live ÷ floor and live ÷ Realtime relay at p50 (goal: live ≤ 1.05 x the floor);
and where the time goes, step by step (bench/connect/legs.py): the click → the create at OpenAI (the
page's offer, the API's way in, the vend function's work and its RTT), OpenAI's create (offer in →
201 out), → the page holds the answer (the function's work after it, the API's way back), → the data
channel open (ICE, DTLS, SCTP over the media RTT) and → first audio. Then the companion's sideband
attach at `/v1/live/sessions/{id}/attach`, warm and cold, as bench.connect measures it for Realtime.
"""

from __future__ import annotations

import argparse
import contextlib
from contextlib import AbstractContextManager

from bench.connect.samples import Variant, median, p90
from local.stack import StackProcess

LIVE_STACK = "live"  # Variant.stack of the variants served by the GPT-Live stack
LIVE_VARIANTS = (
    Variant("live relay", "?debug&mode=relay", "ours", "realtime-vend", companion="warm", stack=LIVE_STACK),
    Variant(
        "live, cold companion",
        "?debug&mode=relay",
        "ours",
        "realtime-vend",
        companion="cold",
        stack=LIVE_STACK,
    ),
)
GOAL = 1.05  # live relay ÷ the floor at p50


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-live", action="store_true", help="leave GPT-Live relay (its stack) out")
    parser.add_argument(
        "--live-runs", type=int, help="rounds that include the GPT-Live variants (default: --runs)"
    )


def live_variants(args: argparse.Namespace) -> list[Variant]:
    return [] if args.no_live else [variant.fresh() for variant in LIVE_VARIANTS]


def live_rounds(args: argparse.Namespace) -> int:
    return int(args.runs if args.live_runs is None else min(args.live_runs, args.runs))


def live_stack(args: argparse.Namespace, limits: list[str]) -> AbstractContextManager[StackProcess | None]:
    """The GPT-Live stack (relay only, its companion on) with the main stack's limits and latency;
    nothing with --no-live."""
    if args.no_live:
        return contextlib.nullcontext()
    return StackProcess("--port", "0", "--voice-api", "live", *limits)


def print_live(
    live: list[Variant], relay: Variant, floor: Variant, realtime_cold: Variant, args: argparse.Namespace
) -> None:
    """The three side by side, the ratios against the goal, the split, and the companion's attach."""
    if not live:
        return
    by_name = {v.name: v for v in live}
    warm, cold = by_name["live relay"], by_name["live, cold companion"]
    print(
        f"GPT-Live relay (our page, a stack started with --voice-api live) beside Realtime relay and the "
        f"floor: live {live_rounds(args)} runs, the others {args.runs}; the same injected latencies"
    )
    columns = (warm, relay, floor)
    width = 20

    def row(label: str, cells: list[str]) -> None:
        print(f"{label:46}" + "".join(f"{cell:>{width}}" for cell in cells))

    def p50(values: list[float]) -> str:
        return f"{median(values):.0f} ms" if values else "-"

    def both(values: list[float]) -> str:
        return f"{median(values):.0f} / {p90(values):.0f} ms" if values else "-"

    header = f"{'':46}" + "".join(f"{name:>{width}}" for name in ("live relay", "Realtime relay", "floor"))
    print(header)
    print("-" * len(header))
    for label, values in _steps(columns):
        row(label, [p50(v) for v in values])
    row("click → SDP answer in hand p50 / p90", [both(v.phases_ms["answer"]) for v in columns])
    row("click → data channel open p50 / p90", [both(v.phases_ms["channel-open"]) for v in columns])
    row("click → first remote audio p50 / p90", [both(v.first_audio_ms) for v in columns])
    row("runs without audio", [str(v.failures) for v in columns])
    _print_ratios(warm, relay, floor)
    _print_companion(warm, cold, relay, realtime_cold)
    print()


def minus(later: list[float], earlier: list[float]) -> list[float]:
    """Run by run (each list holds one sample per run, in order)."""
    return [a - b for a, b in zip(later, earlier, strict=False)]


def plus(a: list[float], b: list[float]) -> list[float]:
    return [x + y for x, y in zip(a, b, strict=False)]


def _steps(columns: tuple[Variant, ...]) -> list[tuple[str, list[list[float]]]]:
    """Each column's steps from the click to first audio, as per-run samples."""
    return [
        ("click → the create at OpenAI p50", [v.before_create_ms for v in columns]),
        ("  OpenAI's create (offer in → 201 out) p50", [v.create_ms for v in columns]),
        ("  201 out → the page holds the answer p50", [v.answer_leg_ms for v in columns]),
        (
            "  answer → channel open (ICE, DTLS, SCTP) p50",
            [minus(v.phases_ms["channel-open"], v.phases_ms["answer"]) for v in columns],
        ),
        (
            "  channel open → first audio p50",
            [minus(v.first_audio_ms, v.phases_ms["channel-open"]) for v in columns],
        ),
    ]


def _split(v: Variant) -> dict[str, list[float]]:
    """The run's way to first audio in the issue's terms, per run."""
    return {
        "the function's create leg": v.before_create_ms,
        "the answer": plus(v.create_ms, v.answer_leg_ms),
        "ICE/DTLS": minus(v.phases_ms["channel-open"], v.phases_ms["answer"]),
        "→ first audio": minus(v.first_audio_ms, v.phases_ms["channel-open"]),
    }


def _print_ratios(live: Variant, relay: Variant, floor: Variant) -> None:
    l50, r50, f50 = (median(v.first_audio_ms) for v in (live, relay, floor))
    l90, r90, f90 = (p90(v.first_audio_ms) for v in (live, relay, floor))
    print(
        f"live ÷ floor = {l50 / f50:.2f} at p50, {l90 / f90:.2f} at p90; live ÷ Realtime relay = "
        f"{l50 / r50:.2f} at p50, {l90 / r90:.2f} at p90; Realtime relay ÷ floor = {r50 / f50:.2f} at p50 "
        f"(first audio {l50:.0f}, {r50:.0f}, {f50:.0f} ms)"
    )
    steps = {name: _split(v) for name, v in (("live", live), ("relay", relay), ("floor", floor))}
    # Each step's median, so the steps need not add up to the difference of the totals exactly.
    beyond_relay = {
        step: median(samples) - median(steps["relay"][step]) for step, samples in steps["live"].items()
    }
    print(
        "by step, live - floor / live - Realtime relay (p50 of each, ms): "
        + "; ".join(
            f"{step} {median(samples) - median(steps['floor'][step]):+.0f} / {beyond_relay[step]:+.0f}"
            for step, samples in steps["live"].items()
        )
        + " (the create leg: the page's offer, the API's way in, the vend function before its POST, the "
        "RTT; the answer: OpenAI's create and its way back through the function and the API)"
    )
    if l50 / f50 <= GOAL:
        print(f"goal live ≤ {GOAL} x the floor at p50: met")
        return
    over = l50 - GOAL * f50
    own = {step: ms for step, ms in beyond_relay.items() if ms >= 1}  # a whole ms or more
    listed = ", ".join(f"{step} +{ms:.0f} ms" for step, ms in own.items()) or "none"
    # The same page, latencies and machine relaying Realtime: what live adds beyond it is GPT-Live's own;
    # what Realtime relay is over the goal too is the relay's (the vend function before and after the
    # create, which the floor does not pay).
    relays = max(0.0, r50 - GOAL * f50)
    goal = f"goal live ≤ {GOAL} x the floor at p50: NOT met, {over:.0f} ms over"
    if relays == 0 and sum(own.values()) >= over:
        print(f"{goal}; explained by GPT-Live's own steps: {listed}")
        return
    print(
        f"{goal}; the relay's own steps, which Realtime relay pays as well, put it {relays:.0f} ms over "
        f"the goal in this run ({r50 / f50:.2f} x the floor); GPT-Live's own (where live is slower than "
        f"Realtime relay) add {sum(own.values()):.0f} ms: {listed}"
    )


def _print_companion(warm: Variant, cold: Variant, relay: Variant, realtime_cold: Variant) -> None:
    print(
        "The companion (GPT-Live): SDP answer leaving the stand-in → the companion's sideband attached at "
        "/v1/live/sessions/{id}/attach (the same injections as for Realtime)"
    )
    width = 22
    columns = (warm, cold, relay, realtime_cold)
    names = ("live (warm)", "live, cold companion", "Realtime (warm)", "Realtime, cold")

    def row(label: str, cells: list[str]) -> None:
        print(f"{label:38}" + "".join(f"{cell:>{width}}" for cell in cells))

    def cell(values: list[float]) -> str:
        return f"{median(values):.0f} / {p90(values):.0f} ms" if values else "-"

    header = f"{'':38}" + "".join(f"{name:>{width}}" for name in names)
    print(header)
    print("-" * len(header))
    row("attach, warm companion p50 / p90", [cell(v.attach_ms["warm"]) for v in columns])
    row("attach, cold companion p50 / p90", [cell(v.attach_ms["cold"]) for v in columns])
    steps = ("answer → Invoke accepted", "→ handler called (queue, init)", "→ sideband attached")
    for index, label in enumerate(steps):
        row(f"  {label} p50", [_step(v, index) for v in columns])
    row("runs without audio / never attached", [f"{v.failures} / {v.never_attached}" for v in columns])
    attached = {kind: [ms for v in (warm, cold) for ms in v.attach_ms[kind]] for kind in ("warm", "cold")}
    verdicts = [
        f"{kind} {median(values):.0f} ms ({len(values)} runs, goal ≤ 1000 ms: "
        f"{'met' if median(values) <= 1000 else 'NOT met'})"
        for kind, values in attached.items()
        if values
    ]
    print(f"live companion attach p50: {'; '.join(verdicts) or 'never attached'}")


def _step(variant: Variant, index: int) -> str:
    values = [step[index] for step in variant.attach_steps_ms]
    return f"{median(values):.0f} ms" if values else "-"
