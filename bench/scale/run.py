"""The usage table's counters under issue 18's load, old design and new, side by side, in one run.

    .venv/bin/python -m bench.scale [--seconds 15] [--before e9fc672] [--shards 32]

DynamoDB here is bench/scale/model.py: item locks held 10-25 ms per transaction and about 1 ms per
single-item write, overlapping transactions cancelled with `TransactionConflict` as DynamoDB does (the
local emulators serialise every request, so they cannot show it). Each design runs in its own process
(bench/scale/load.py), its `functions/vend` first on the path, under the same seeded load:
200 mints/s against a daily cap that binds, 50 call starts/s (each ended and refunded 0.5-3 s later),
and 500 calls metering their responses and transcriptions, one in ten through two companions at once.

- old: functions/vend at `--before` (every mint and call start writes the day's item inside a
  transaction), with the spend ledger on one stack-day item (`--shards 1`: the same code, unsharded);
- new: this tree (the day's items written by single conditional updates, the spend sharded).

Time runs `--dilation` times slower (4) and the latencies are divided back (bench/scale/load.py), so
a busy machine's late thread wake-ups barely move them; `dispatcher late` says how late the load was.

Printed per design: admitted against the cap, false refusals (a refusal while the cap had room, or a
503 after the conflict retries ran out), lost counts (what the counters miss against what the load
was admitted and recorded), conflicts seen and the retries they cost, and p50/p99 latency per write.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BEFORE = "e9fc672"  # main before issue 18: the day's items inside every mint's and start's transaction
LATE_WARNING_S = 0.05
OVERLAY = ("functions/vend/aws/spend_ledger.py", "functions/vend/metering")  # metering did not exist


def old_tree(commit: str, destination: Path) -> Path:
    """functions/vend at `commit`, plus today's spend ledger (which the old design lacked)."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "functions/vend"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(destination, filter="data")
    overlay = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", *OVERLAY], capture_output=True, check=True, text=True
    ).stdout
    for name in filter(None, overlay.split("\0")):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((REPO / name).read_bytes())
    return destination / "functions"


def run_design(functions: Path, args: argparse.Namespace, shards: int) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.scale.load",
        f"--seconds={args.seconds}",
        f"--shards={shards}",
        f"--seed={args.seed}",
        f"--dilation={args.dilation}",
    ]
    env = {**os.environ, "PYTHONPATH": f"{functions}{os.pathsep}{REPO}", "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{functions}: {result.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(result.stdout)
    figures["load"] = f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    return figures


def table(old: dict[str, Any], new: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str]] = []

    def row(label: str, pick: Any) -> None:
        rows.append((label, str(pick(old)), str(pick(new))))

    def latency(job: str) -> Any:
        return lambda f: f"{f['latency_ms'][job]['p50']:.1f} / {f['latency_ms'][job]['p99']:.1f} ms"

    def retries(f: dict[str, Any]) -> str:
        cancelled = sum(f["cancelled"].values())
        gave_up = sum(f[job]["outcomes"].get("unavailable", 0) for job in ("mint", "start", "record"))
        gave_up += f["start"]["ends"].get("unavailable", 0)
        return f"{cancelled} / {max(0, cancelled - gave_up)}"

    row("mints: admitted / cap", lambda f: f"{f['mint']['admitted']} / {f['mint']['cap']}")
    row("mints: attempts", lambda f: f["mint"]["attempts"])
    row("mints: false refusals", lambda f: f["mint"]["false_refusals"])
    row(
        "mints: lost counts (day, visitors)",
        lambda f: f"{f['mint']['lost_counts']}, {-f['mint']['visitor_count_error']}",
    )
    row("mint p50 / p99", latency("mint"))
    row("call starts: admitted / attempts", lambda f: f"{f['start']['admitted']} / {f['start']['attempts']}")
    row("call starts: false refusals", lambda f: f["start"]["false_refusals"])
    row("call ends: failed", lambda f: f["start"]["ends"].get("unavailable", 0))
    row(
        "call-seconds lost (stack, visitors)",
        lambda f: f"{f['start']['lost_seconds']}, {-f['start']['visitor_seconds_error']}",
    )
    row("call start p50 / p99", latency("start"))
    row("call end p50 / p99", latency("end"))
    row(
        "spend events (+ duplicates sent)",
        lambda f: f"{f['record']['events']} (+{f['record']['outcomes'].get('duplicate', 0)})",
    )
    row("spend records failed", lambda f: f["record"]["outcomes"].get("unavailable", 0))
    row(
        "spend lost µ$, callers not retrying (stack; calls)",
        lambda f: f"{f['record']['lost_micro_usd']}; {-f['record']['call_totals_error']}",
    )
    row("spend record p50 / p99", latency("record"))
    row("conflicts: requests cancelled / retried", retries)
    row("dispatcher late by (max, undilated)", lambda f: f"{f['late_s'] * 1000:.0f} ms")
    row("load average at the end", lambda f: f["load"])
    width = max(len(r[0]) for r in rows)
    col = max(len(r[1]) for r in [*rows, ("", "old", "")])
    lines = [f"{'':{width}}  {'old':>{col}}  new", *(f"{a:{width}}  {b:>{col}}  {c}" for a, b, c in rows)]
    lines.append("conflicting items, by kind:")
    for name, figures in (("old", old), ("new", new)):
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(figures["conflicts"].items())) or "none"
        lines.append(f"  {name}: {kinds}")
    if max(old["late_s"], new["late_s"]) > LATE_WARNING_S:
        lines.append(
            "note: the load was dispatched late (CPU contention on this machine): the latencies are "
            "inflated; run again on a quieter machine"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=15.0, help="length of each design's run (default 15)"
    )
    parser.add_argument("--before", default=BEFORE, help=f"the old design's commit (default {BEFORE})")
    parser.add_argument("--shards", type=int, default=32, help="the new design's stack-day spend items")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--dilation", type=float, default=4.0, help="time runs k times slower (default 4)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as folder:
        print(f"old design ({args.before})…", file=sys.stderr, flush=True)
        old = run_design(old_tree(args.before, Path(folder)), args, shards=1)
    print("new design…", file=sys.stderr, flush=True)
    new = run_design(REPO / "functions", args, shards=args.shards)
    print(
        f"bench/scale: {args.seconds:g} s each (run {args.dilation:g}x slower); 200 mints/s, 50 call "
        "starts/s, 500 calls metering; transactions hold items 10-25 ms, single writes 1 ms"
    )
    print(table(old, new))


if __name__ == "__main__":
    main()
