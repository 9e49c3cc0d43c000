"""Cold start: our handler against the common eager pattern, in a venv holding only the Lambda's packages.

    .venv/bin/python -m bench.coldstart [--runs 9]

Each run is a fresh process (as a new execution environment is): the import of the handler module, and
the import plus the first mint against loopback stand-ins (moto for Secrets Manager, an instant
client_secrets endpoint). Medians, side by side, with ratios to the naive handler.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

from bench.fake_infra import fake_infra
from bench.runtime_venv import REPO, runtime_python

HERE = Path(__file__).resolve().parent
VARIANTS = {
    "ours": ("vend.app", {}),
    "ours, TracingEnabled=true": ("vend.app", {"TRACING_ENABLED": "true"}),
    "naive (all eager)": ("naive_handler", {}),
}
# As in Lambda: Tracer only records when LAMBDA_TASK_ROOT is set and a trace header exists.
LAMBDA_ENV = {
    "LAMBDA_TASK_ROOT": "/var/task",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "_X_AMZN_TRACE_ID": "Root=1-6745a1b2-3c4d5e6f7a8b9c0d1e2f3a4b;Parent=53995c3f42cd8ad8;Sampled=1",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9",  # discard port: segments go nowhere
    "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
}


def measure(python: Path, module: str, env: dict[str, str], event: Path, runs: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {
        "process_import_ms": [],
        "import_ms": [],
        "import_plus_first_mint_ms": [],
    }
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(python), "-c", f"import {module}"], env=env, check=True)
        results["process_import_ms"].append((time.perf_counter() - started) * 1000)
        child = subprocess.run(
            [str(python), str(HERE / "child.py"), module, str(event)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(child.stderr.strip().splitlines()[-1])
        assert figures["status"] == 200, figures
        results["import_ms"].append(figures["import_ms"])
        results["import_plus_first_mint_ms"].append(figures["import_ms"] + figures["first_request_ms"])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    python = runtime_python()
    version = subprocess.run([str(python), "-V"], capture_output=True, text=True, check=True).stdout.strip()
    medians: dict[str, dict[str, float]] = {}
    with fake_infra() as infra:
        for name, (module, extra) in VARIANTS.items():
            env = {
                "PATH": os.environ["PATH"],
                "PYTHONPATH": f"{REPO / 'functions'}:{HERE}",
                "PYTHONDONTWRITEBYTECODE": "0",
                **LAMBDA_ENV,
                **infra.env(),
                **extra,
            }
            runs = measure(python, module, env, REPO / "events" / "mint.json", args.runs)
            medians[name] = {k: statistics.median(v) for k, v in runs.items()}
    naive = medians["naive (all eager)"]
    print(f"\nCold start, {version}, runtime-only venv, median of {args.runs} fresh processes each\n")
    print(
        f"{'handler':28} {'process: import':>16} {'import':>9} {'import+1st mint':>16} {'ratio (import)':>15}"
        f" {'ratio (+mint)':>14}"
    )
    for name, m in medians.items():
        print(
            f"{name:28} {m['process_import_ms']:14.0f}ms {m['import_ms']:7.0f}ms"
            f" {m['import_plus_first_mint_ms']:14.0f}ms"
            f" {m['process_import_ms'] / naive['process_import_ms']:14.2f}x"
            f" {m['import_plus_first_mint_ms'] / naive['import_plus_first_mint_ms']:13.2f}x"
        )
    print(
        "\nprocess: import = wall time of `python -c 'import <handler>'` (interpreter start included);"
        "\nimport+1st mint = in-process time to import and serve the first POST /api/session."
    )


if __name__ == "__main__":
    main()
