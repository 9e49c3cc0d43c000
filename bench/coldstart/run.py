"""Cold start as Lambda runs it: our handler, with tracing, the all-eager Powertools pattern, and before.

    .venv/bin/python -m bench.coldstart [--runs 7] [--memory MB] [--reference-bytecode]

Rows: ours, ours with tracing, the all-eager pattern doing the same work (bench/coldstart/naive_handler.py),
and the handler before issue 10 (functions/vend at --before: no origin check, pause switch or quota).
Each run is a fresh process in the runtime-only layout (bench/runtime_venv.py). It starts inside a
cgroup capped at 1 vCPU (Lambda's init phase), imports the handler, then moves itself into a cgroup
capped at MemorySize/1769 vCPU (the invoke share; MemorySize from template.yaml) and serves the first
mint, then a second. The fakes charge what the real services charge: HTTPS with certificate
verification, Secrets Manager and SSM answering after ~10 ms, OpenAI after ~25 ms, DynamoDB (moto
behind a TLS proxy) 5 ms after its work; they run here, outside the caps, and count the requests and
new connections of init and of the first mint. Variants are interleaved run by run, so that load from
elsewhere hits them alike. Printed: medians of init, first mint, cold mint (init + first), warm mint
(the second), the ratios to the all-eager pattern, the billed cost of a cold start (init + first
invoke) in GB-seconds, and the requests and connections of each phase.
Needs root (cgroups).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any

from bench.fake_infra import (
    DYNAMODB_LATENCY_MS,
    OPENAI_DELAY_S,
    SECRETS_MANAGER_DELAY_S,
    SSM_DELAY_S,
    calls_between,
)
from bench.lambda_model import INIT_VCPUS, function_memory_mb, gb_seconds, invoke_vcpus
from bench.lambda_sandbox import Sandbox, load_average, sandbox
from bench.runtime_venv import REPO

EAGER = "all-eager Powertools"
# name -> (handler module, its /var/task in the sandbox, extra environment)
VARIANTS = {
    "ours": ("vend.app", "ours", {}),
    "ours, TRACING_ENABLED=true": ("vend.app", "ours", {"TRACING_ENABLED": "true"}),
    EAGER: ("naive_handler", "reference", {}),
}
BEFORE_ISSUE_10 = "9a2686b"  # the last commit before the quota, the origin check and the pause switch
FIGURES = ("init_ms", "first_ms", "cold_ms", "second_ms", "gb_s")
CPU_FIGURES = ("init_cpu_ms", "first_cpu_ms")


def cold_start(box: Sandbox, module: str, task: str, extra_env: dict[str, str]) -> dict[str, Any]:
    before = box.infra.calls.snapshot()
    figures: dict[str, Any] = box.run(
        "bench.coldstart.child", [module, str(REPO / "events" / "mint.json")], extra_env, task=task
    )
    after_init, after_first = figures.pop("calls_after_init"), figures.pop("calls_after_first")
    figures["calls"] = {
        "init": calls_between(before, after_init),
        "1st mint": calls_between(after_init, after_first),
    }
    figures["cold_ms"] = figures["init_ms"] + figures["first_ms"]
    # Init and the first invoke are billed separately, each rounded up to the millisecond.
    figures["gb_s"] = gb_seconds(figures["init_ms"], box.memory_mb) + gb_seconds(
        figures["first_ms"], box.memory_mb
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per variant (default 7)")
    parser.add_argument("--memory", type=int, help="MemorySize in MB (default: template.yaml's)")
    parser.add_argument(
        "--reference-bytecode",
        action="store_true",
        help="give the all-eager reference bytecode too (SAM's standard builder ships none), to compare"
        " the two handlers' code on the same layout",
    )
    parser.add_argument(
        "--before",
        default=BEFORE_ISSUE_10,
        help=f"the commit whose handler is the 'before' row (default {BEFORE_ISSUE_10}; '' for none)",
    )
    args = parser.parse_args()
    variants = dict(VARIANTS)
    if args.before:
        variants[f"before issue 10 ({args.before})"] = ("vend.app", "before", {})
    load_before = load_average()
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    memory = args.memory or function_memory_mb()
    with sandbox(memory, reference_bytecode=args.reference_bytecode, before=args.before or None) as box:
        for run in range(args.runs):
            for name, (module, task, extra) in variants.items():
                samples[name].append(cold_start(box, module, task, extra))
            print(f"\rrun {run + 1}/{args.runs}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    artifact = "ours with bytecode (functions/Makefile), all-eager " + (
        "with bytecode too" if args.reference_bytecode else "without (SAM's standard builder)"
    )
    print_report(
        samples, box.memory_mb, f"{box.version}, {artifact}", args.runs, (load_before, load_average())
    )


def print_report(
    samples: dict[str, list[dict[str, Any]]],
    memory_mb: int,
    version: str,
    runs: int,
    load: tuple[str, str],
) -> None:
    medians = {
        name: {key: statistics.median(s[key] for s in runs_) for key in FIGURES + CPU_FIGURES}
        for name, runs_ in samples.items()
    }
    eager = medians[EAGER]
    print(
        f"\nCold start at {memory_mb} MB: init capped at {INIT_VCPUS:g} vCPU, invocations at"
        f" {invoke_vcpus(memory_mb):.3f} vCPU ({memory_mb}/1769). {version}, median of {runs} fresh"
        f" processes per variant.\nFakes over HTTPS: Secrets Manager and SSM answer after"
        f" {SECRETS_MANAGER_DELAY_S * 1000:.0f} and {SSM_DELAY_S * 1000:.0f} ms, OpenAI after"
        f" {OPENAI_DELAY_S * 1000:.0f} ms, DynamoDB (moto behind a TLS proxy) {DYNAMODB_LATENCY_MS:g} ms"
        f" after its work.\nLoad average {load[0]} before, {load[1]} after (2 cores).\n"
    )
    columns = f"{'init':>9} {'1st mint':>9} {'cold mint':>10} {'warm mint':>10}"
    print(f"{'':28} {columns} {'cold range':>14} {'billed cold start':>18}")
    for name, m in medians.items():
        colds = [s["cold_ms"] for s in samples[name]]
        spread = f"{min(colds):.0f}-{max(colds):.0f} ms"
        print(
            f"{name:28} {m['init_ms']:6.0f} ms {m['first_ms']:6.0f} ms {m['cold_ms']:7.0f} ms"
            f" {m['second_ms']:7.1f} ms {spread:>14} {m['gb_s']:13.5f} GB-s"
        )
    print(f"\n{'ratio to ' + EAGER:28} {columns} {'GB-s':>14}")
    for name, m in medians.items():
        ratios = [m[key] / eager[key] for key in FIGURES]
        print(f"{name:28} " + " ".join(f"{r:{w}.2f}x" for r, w in zip(ratios, (8, 8, 9, 9, 13), strict=True)))
    print(f"\n{'CPU time (load cannot inflate)':28} {'init':>9} {'1st mint':>9} {'ratio':>10} {'ratio':>10}")
    for name, m in medians.items():
        init_ratio, first_ratio = (m[key] / eager[key] for key in CPU_FIGURES)
        print(
            f"{name:28} {m['init_cpu_ms']:6.0f} ms {m['first_cpu_ms']:6.0f} ms"
            f" {init_ratio:9.2f}x {first_ratio:9.2f}x"
        )
    print_calls(samples)
    ours = medians["ours"]
    print(
        f"\nGoals: cold mint ≤ 0.5x all-eager: {ours['cold_ms'] / eager['cold_ms']:.2f}x"
        f" ({'met' if ours['cold_ms'] <= 0.5 * eager['cold_ms'] else 'NOT met'});"
        f" init no worse than all-eager: {ours['init_ms'] / eager['init_ms']:.2f}x"
        f" ({'met' if ours['init_ms'] <= eager['init_ms'] else 'NOT met'})."
        "\ninit = process start to handler imported (Lambda's Init Duration, billed since Aug 2025);"
        " 1st mint = the first invocation;\ncold mint = init + 1st mint, what the first visitor waits for"
        " and what is billed; warm mint = the second invocation."
    )


def print_calls(samples: dict[str, list[dict[str, Any]]]) -> None:
    """What each phase asked of each service, counted at the fakes: requests by operation and new
    connections (each a TLS handshake), the same in every run or else the range."""
    print("\nRequests and new connections (TLS handshakes) per cold start, counted at the fakes")
    for phase in ("init", "1st mint"):
        for name, runs in samples.items():
            counted = [run["calls"][phase] for run in runs]
            keys = sorted({key for calls in counted for key in calls if key.count(" ") == 1})
            cells = []
            for key in keys:
                counts = [calls.get(key, 0) for calls in counted]
                low, high = min(counts), max(counts)
                service, operation = key.split(" ")
                what = "new conn" if operation == "connection" else operation
                cells.append(f"{service} {what} {low}" + (f"-{high}" if high != low else ""))
            print(f"  {phase + ':':9} {name:28} {', '.join(cells) or 'none'}")
