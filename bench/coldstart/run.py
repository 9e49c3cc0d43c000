"""Cold start as Lambda runs it: our handler, with tracing, and the all-eager Powertools pattern.

    .venv/bin/python -m bench.coldstart [--runs 7] [--memory MB]

Each run is a fresh process in the runtime-only layout (bench/runtime_venv.py). It starts inside a
cgroup capped at 1 vCPU (Lambda's init phase), imports the handler, then moves itself into a cgroup
capped at MemorySize/1769 vCPU (the invoke share; MemorySize from template.yaml) and serves the first
mint, then a second. The fakes charge what the real services charge: HTTPS with certificate
verification, Secrets Manager answering after ~10 ms and OpenAI after ~25 ms; they run here, outside
the caps. Variants are interleaved run by run, so that load from elsewhere hits them alike. Printed:
medians of init, first mint, cold mint (init + first), warm mint (the second), the ratios to the
all-eager pattern, and the billed cost of a cold start (init + first invoke) in GB-seconds.
Needs root (cgroups).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.cgroups import CgroupUnavailable, CpuCap, cpu_caps
from bench.fake_infra import OPENAI_DELAY_S, SECRETS_MANAGER_DELAY_S, Infra, fake_infra
from bench.lambda_model import INIT_VCPUS, function_memory_mb, gb_seconds, invoke_vcpus, lambda_env
from bench.runtime_venv import REPO, runtime_python, task_root

HERE = Path(__file__).resolve().parent
EAGER = "all-eager Powertools"
VARIANTS = {
    "ours": ("vend.app", {}),
    "ours, TRACING_ENABLED=true": ("vend.app", {"TRACING_ENABLED": "true"}),
    EAGER: ("naive_handler", {}),
}
FIGURES = ("init_ms", "first_ms", "cold_ms", "second_ms", "gb_s")
CHILD_TIMEOUT_S = 120


def start_in(cap: CpuCap, argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Runs argv with its whole life, interpreter start included, under the cap."""
    join_then_exec = 'echo $$ > "$0" && exec "$@"'
    return subprocess.run(
        ["/bin/sh", "-c", join_then_exec, str(cap.procs), *argv],
        env={**env, "BENCH_SPAWNED_NS": str(time.monotonic_ns())},
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )


def child_env(infra: Infra, memory_mb: int, task: Path, extra: dict[str, str]) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": f"{task}:{REPO}",  # /var/task, then this repository for bench.lambda_child only
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only: Lambda cannot cache bytecode there
        **lambda_env(memory_mb),
        **infra.env(),
        **extra,
    }


def cold_start(
    python: Path, module: str, env: dict[str, str], caps: dict[str, CpuCap], memory_mb: int
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(prefix="bench-result-", suffix=".json") as result:
        child = start_in(
            caps["init"],
            [str(python), "-m", "bench.coldstart.child", module, str(REPO / "events" / "mint.json")],
            {**env, "BENCH_INVOKE_PROCS": str(caps["invoke"].procs), "BENCH_RESULT": result.name},
        )
        if child.returncode != 0:
            tail = "\n".join((child.stdout + child.stderr).splitlines()[-15:])
            raise SystemExit(f"{module}: the cold-start process failed ({child.returncode}):\n{tail}")
        figures: dict[str, float] = json.loads(Path(result.name).read_text())
    figures["cold_ms"] = figures["init_ms"] + figures["first_ms"]
    figures["gb_s"] = gb_seconds(figures["init_ms"], memory_mb) + gb_seconds(figures["first_ms"], memory_mb)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per variant (default 7)")
    parser.add_argument("--memory", type=int, help="MemorySize in MB (default: template.yaml's)")
    parser.add_argument(
        "--compiled-artifact",
        action="store_true",
        help="ship bytecode in /var/task (functions/Makefile strips it today), to see what that would save",
    )
    args = parser.parse_args()
    memory_mb = args.memory or function_memory_mb()
    python = runtime_python()
    version = subprocess.run([str(python), "-V"], capture_output=True, text=True, check=True).stdout.strip()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the cgroups are removed
    load_before = Path("/proc/loadavg").read_text().split()[0]
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
    try:
        with (
            cpu_caps({"init": INIT_VCPUS, "invoke": invoke_vcpus(memory_mb)}) as caps,
            fake_infra() as infra,
            tempfile.TemporaryDirectory(prefix="bench-task-") as task,
        ):
            folder = task_root(Path(task), HERE / "naive_handler.py", compiled=args.compiled_artifact)
            for run in range(args.runs):
                for name, (module, extra) in VARIANTS.items():
                    env = child_env(infra, memory_mb, folder, extra)
                    samples[name].append(cold_start(python, module, env, caps, memory_mb))
                print(f"\rrun {run + 1}/{args.runs}", end="", file=sys.stderr, flush=True)
    except CgroupUnavailable as exc:
        raise SystemExit(f"bench.coldstart needs cgroups to cap the CPU as Lambda does: {exc}") from None
    print(file=sys.stderr)
    load_after = Path("/proc/loadavg").read_text().split()[0]
    artifact = (
        "bytecode shipped in /var/task" if args.compiled_artifact else "/var/task without bytecode, as built"
    )
    print_report(samples, memory_mb, f"{version}, {artifact}", args.runs, (load_before, load_after))


def print_report(
    samples: dict[str, list[dict[str, float]]],
    memory_mb: int,
    version: str,
    runs: int,
    load: tuple[str, str],
) -> None:
    medians = {
        name: {key: statistics.median(s[key] for s in runs_) for key in FIGURES}
        for name, runs_ in samples.items()
    }
    eager = medians[EAGER]
    print(
        f"\nCold start at {memory_mb} MB: init capped at {INIT_VCPUS:g} vCPU, invocations at"
        f" {invoke_vcpus(memory_mb):.3f} vCPU ({memory_mb}/1769). {version}, median of {runs} fresh"
        f" processes per variant.\nFakes over HTTPS: Secrets Manager answers after"
        f" {SECRETS_MANAGER_DELAY_S * 1000:.0f} ms, OpenAI after {OPENAI_DELAY_S * 1000:.0f} ms."
        f" Load average {load[0]} before, {load[1]} after (2 cores).\n"
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
        ratios = [m[key] / eager[key] for key in FIGURES if key != "gb_s"] + [m["gb_s"] / eager["gb_s"]]
        print(f"{name:28} " + " ".join(f"{r:{w}.2f}x" for r, w in zip(ratios, (8, 8, 9, 9, 13), strict=True)))
    ours = medians["ours"]
    print(
        f"\nGoals: cold mint ≤ 0.5x all-eager: {ours['cold_ms'] / eager['cold_ms']:.2f}x"
        f" ({'met' if ours['cold_ms'] <= 0.5 * eager['cold_ms'] else 'NOT met'});"
        f" init no worse than all-eager: {ours['init_ms'] / eager['init_ms']:.2f}x"
        f" ({'met' if ours['init_ms'] <= eager['init_ms'] else 'NOT met'})."
        "\ninit = process start to handler imported (Lambda's Init Duration, billed since Aug 2025);"
        " cold mint = init + first mint, what the first visitor waits for and what is billed;"
        " warm mint = the second mint in the same process."
    )
