"""Warm mints at the invoke share: what the handler adds on top of the upstream, per request.

    .venv/bin/python -m bench.warm [--requests 400] [--memory MB]

One process per variant, in the same sandbox as bench.coldstart: the runtime-only layout, init capped
at 1 vCPU, then every invocation capped at MemorySize/1769 vCPU (template.yaml), against the HTTPS fakes
(OpenAI answers after ~25 ms). After a warm-up, each mint is paired with a bare keep-alive HTTPS round
trip to the same upstream from the same process, so that

    overhead = handler time - bare round trip, per pair (p50 and p99 over the pairs).

Rows: ours, ours with tracing, the all-eager Powertools pattern, and for reference the bare round trip
itself and one made with a new HTTP client per request (a common mistake). Needs root (cgroups).
"""

from __future__ import annotations

import argparse
import statistics
import sys

from bench.coldstart.run import EAGER, VARIANTS
from bench.fake_infra import BENCH_KEY, OPENAI_DELAY_S
from bench.lambda_model import function_memory_mb, invoke_vcpus
from bench.lambda_sandbox import load_average, sandbox
from bench.runtime_venv import REPO

OVERHEAD_GOAL_MS = 5.0


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def p50_p99(samples: list[float]) -> str:
    return f"{statistics.median(samples):7.1f} ms {percentile(samples, 0.99):7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=400, help="timed mints per variant (default 400)")
    parser.add_argument("--memory", type=int, help="MemorySize in MB (default: template.yaml's)")
    args = parser.parse_args()
    load_before = load_average()
    figures: dict[str, dict[str, list[float]]] = {}
    with sandbox(args.memory or function_memory_mb()) as box:
        for name, (module, task, extra) in VARIANTS.items():
            print(f"{name}…", file=sys.stderr, flush=True)
            figures[name] = box.run(
                "bench.warm.child",
                [module, str(REPO / "events" / "mint.json"), str(args.requests)],
                {**extra, "BENCH_OPENAI_KEY": BENCH_KEY},
                task=task,
            )

    print(
        f"\nWarm POST /api/session at {box.memory_mb} MB: every invocation capped at"
        f" {invoke_vcpus(box.memory_mb):.3f} vCPU ({box.memory_mb}/1769). {box.version},"
        f" {args.requests} mints per variant,\neach paired with a bare HTTPS round trip to the same fake"
        f" OpenAI (answers after {OPENAI_DELAY_S * 1000:.0f} ms). Load average {load_before} before,"
        f" {load_average()} after (2 cores).\n"
    )
    print(f"{'':28} {'mint p50':>10} {'mint p99':>10} {'overhead p50':>13} {'overhead p99':>13}")
    overheads: dict[str, float] = {}
    for name, runs in figures.items():
        overhead = [h - b for h, b in zip(runs["handler_ms"], runs["bare_ms"], strict=True)]
        overheads[name] = statistics.median(overhead)
        print(
            f"{name:28} {p50_p99(runs['handler_ms'])} {overheads[name]:10.1f} ms"
            f" {percentile(overhead, 0.99):10.1f} ms"
        )
    ours = figures["ours"]
    print(f"{'bare round trip (reference)':28} {p50_p99(ours['bare_ms'])}")
    print(f"{'  with a new client each':28} {p50_p99(ours['fresh_client_ms'])}")
    met = "met" if overheads["ours"] <= OVERHEAD_GOAL_MS else "NOT met"
    print(
        f"\nGoal: warm overhead p50 ≤ {OVERHEAD_GOAL_MS:g} ms at the invoke share:"
        f" ours {overheads['ours']:.1f} ms ({met}); {EAGER}: {overheads[EAGER]:.1f} ms."
        "\noverhead = mint time minus the paired bare round trip (the handler's own work: routing, the cached"
        " key, the body, logs and metrics)."
    )


if __name__ == "__main__":
    main()
