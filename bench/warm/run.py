"""Warm mints at the invoke share: what the handler adds on top of the upstream, per request, and what
the quota write adds to that.

    .venv/bin/python -m bench.warm [--requests 300] [--memory MB] [--before COMMIT]

One process per variant, in the same sandbox as bench.coldstart: the runtime-only layout, init capped
at 1 vCPU, then every invocation capped at MemorySize/1769 vCPU (template.yaml), with the template's
whole environment, against the HTTPS fakes (bench/fake_infra.py: OpenAI answers after ~25 ms; Secrets
Manager and SSM after ~10 ms; DynamoDB is moto answering 5 ms after its work, behind TLS). After a
warm-up, each mint is paired with a bare keep-alive HTTPS round trip to the same upstream from the same
process, so that

    overhead = handler time - bare round trip, per pair (p50, p90 and p99 over the pairs).

Rows: ours; ours with the quota write bypassed (the reference for what the write adds: the same code and
process, the quota's store replaced by one that writes nothing, bench/warm/quota_bypassed.py); ours with
tracing; the all-eager Powertools pattern doing the same work; the handler before issue 10 (functions/vend
at --before); and for reference the bare round trip itself and one made with a new HTTP client per
request (a common mistake). The fakes count every request and new connection during the timed mints:
DynamoDB round trips per mint (goal: 1), and the Secrets Manager and SSM calls the caches leave.
Needs root (cgroups).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any

from bench.coldstart.run import BEFORE_ISSUE_10, EAGER, VARIANTS
from bench.fake_infra import BENCH_KEY, DYNAMODB_LATENCY_MS, OPENAI_DELAY_S
from bench.lambda_model import function_memory_mb, invoke_vcpus
from bench.lambda_sandbox import load_average, sandbox
from bench.runtime_venv import REPO

OVERHEAD_GOAL_MS = 5.0
DYNAMODB_ROUND_TRIPS_GOAL = 1
BYPASSED = "ours, quota write bypassed"
SERVICES = ("dynamodb", "secretsmanager", "ssm", "openai")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def spread(samples: list[float]) -> str:
    return " ".join(f"{percentile(samples, q):7.1f} ms" for q in (0.5, 0.9, 0.99))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300, help="timed mints per variant (default 300)")
    parser.add_argument("--memory", type=int, help="MemorySize in MB (default: template.yaml's)")
    parser.add_argument(
        "--before",
        default=BEFORE_ISSUE_10,
        help=f"the commit whose handler is the 'before' row (default {BEFORE_ISSUE_10}; '' for none)",
    )
    args = parser.parse_args()
    before = f"before issue 10 ({args.before})"
    variants: dict[str, tuple[str, str, dict[str, str]]] = {
        "ours": VARIANTS["ours"],
        BYPASSED: ("bench.warm.quota_bypassed", "ours", {}),
        **{name: v for name, v in VARIANTS.items() if name != "ours"},
    }
    if args.before:
        variants[before] = ("vend.app", "before", {})
    load_before = load_average()
    figures: dict[str, dict[str, Any]] = {}
    with sandbox(args.memory or function_memory_mb(), before=args.before or None) as box:
        for name, (module, task, extra) in variants.items():
            print(f"{name}…", file=sys.stderr, flush=True)
            child_args = [module, str(REPO / "events" / "mint.json"), str(args.requests)]
            figures[name] = box.run(
                "bench.warm.child",
                child_args + (["fresh"] if name == "ours" else []),
                {**extra, "BENCH_OPENAI_KEY": BENCH_KEY},
                task=task,
            )

    print(
        f"\nWarm POST /api/session at {box.memory_mb} MB: every invocation capped at"
        f" {invoke_vcpus(box.memory_mb):.3f} vCPU ({box.memory_mb}/1769). {box.version},"
        f" {args.requests} mints per variant,\neach paired with a bare HTTPS round trip to the same fake"
        f" OpenAI (answers after {OPENAI_DELAY_S * 1000:.0f} ms). DynamoDB: moto answering"
        f" {DYNAMODB_LATENCY_MS:g} ms after its work, behind a TLS proxy.\nLoad average {load_before}"
        f" before, {load_average()} after (2 cores).\n"
    )
    print(
        f"{'':32} {'mint p50':>10} {'p90':>10} {'p99':>10} {'overhead p50':>13} {'p90':>10} {'p99':>10}"
        f" {'CPU p50':>10}"
    )
    overheads: dict[str, list[float]] = {}
    for name, runs in figures.items():
        overheads[name] = [h - b for h, b in zip(runs["handler_ms"], runs["bare_ms"], strict=True)]
        cpu = statistics.median(runs["cpu_ms"])
        print(f"{name:32} {spread(runs['handler_ms'])}    {spread(overheads[name])} {cpu:7.2f} ms")
    ours = figures["ours"]
    print(f"{'bare round trip (reference)':32} {spread(ours['bare_ms'])}")
    print(f"{'  with a new client each':32} {spread(ours['fresh_client_ms'])}")

    print_quota_write(figures["ours"], figures[BYPASSED], overheads["ours"], overheads[BYPASSED])
    print_calls(figures, args.requests)
    medians = {name: statistics.median(overheads[name]) for name in ("ours", BYPASSED, EAGER)}

    def met(name: str) -> str:
        return f"{medians[name]:.1f} ms ({'met' if medians[name] <= OVERHEAD_GOAL_MS else 'NOT met'})"

    print(
        f"\nGoal set before issue 10 (which adds a DynamoDB round trip): warm overhead p50 ≤"
        f" {OVERHEAD_GOAL_MS:g} ms at the invoke share:\nours {met('ours')}, without the quota write"
        f" {met(BYPASSED)}; {EAGER}: {medians[EAGER]:.1f} ms. CPU = the process's CPU time per mint."
        "\noverhead = mint time minus the paired bare round trip (the handler's own work: routing, the cached"
        " secrets, the origin check,\nthe pause switch, the fingerprint, the quota write, the body, logs and"
        " metrics)."
    )


def print_quota_write(
    ours: dict[str, Any], bypassed: dict[str, Any], ours_overhead: list[float], bypassed_overhead: list[float]
) -> None:
    print(f"\nThe quota write: ours against '{BYPASSED}' (same code and process, nothing written)")
    for label, with_write, without in (
        ("mint", ours["handler_ms"], bypassed["handler_ms"]),
        ("overhead", ours_overhead, bypassed_overhead),
    ):
        cells = []
        for q in (0.5, 0.9):
            a, b = percentile(with_write, q), percentile(without, q)
            cells.append(f"p{q * 100:.0f} {b:.1f} → {a:.1f} ms: +{a - b:.1f} ms ({a / b:.2f}x)")
        print(f"  {label:9} " + "; ".join(cells))


def print_calls(figures: dict[str, dict[str, Any]], requests: int) -> None:
    print(
        f"\nService calls per warm mint, counted at the fakes over the {requests} timed mints of each variant"
    )
    print(f"{'':32} " + " ".join(f"{s:>14}" for s in SERVICES) + f" {'new conns':>10} {'timed':>8}")
    for name, runs in figures.items():
        calls: dict[str, int] = runs["calls"]
        cells = []
        for service in SERVICES:
            total = requests_to(calls, service)
            cells.append(f"{total / requests:6.3f} ({total:>4})")
        connections = sum(n for key, n in calls.items() if key.endswith(" connection"))
        print(f"{name:32} " + " ".join(cells) + f" {connections:>10} {runs['timed_s']:7.1f}s")
    dynamodb = figures["ours"]["calls"]
    per_mint = requests_to(dynamodb, "dynamodb") / requests
    operations = ", ".join(
        f"{n} {key.split()[1]}"
        for key, n in sorted(dynamodb.items())
        if key.startswith("dynamodb ") and key != "dynamodb connection" and n
    )
    met = "met" if per_mint <= DYNAMODB_ROUND_TRIPS_GOAL else "NOT met"
    print(
        f"\nDynamoDB round trips per mint: {per_mint:g} (ours: {operations or 'none'} over {requests} warm"
        f" mints; goal ≤ {DYNAMODB_ROUND_TRIPS_GOAL}: {met})"
    )
    ssm = figures["ours"]["calls"].get("ssm GetParameter", 0)
    timed_s = figures["ours"]["timed_s"]
    secrets = figures["ours"]["calls"].get("secretsmanager GetSecretValue", 0)
    print(
        f"SSM GetParameter: {ssm} in {timed_s:.1f} s of warm mints (one per {timed_s / max(ssm, 1):.1f} s;"
        f" the pause switch's max age is 5 s); Secrets Manager GetSecretValue: {secrets}."
    )


def requests_to(calls: dict[str, int], service: str) -> int:
    """Requests to one service (per-secret counts and new connections left out)."""
    return sum(
        n
        for key, n in calls.items()
        if key.startswith(service + " ") and key.count(" ") == 1 and not key.endswith(" connection")
    )


if __name__ == "__main__":
    main()
