"""The parent side of a benchmark run: a Lambda-like sandbox to start handler processes in.

CPU caps (init: 1 vCPU; invoke: MemorySize/1769 vCPU), the HTTPS fakes, and /var/task, all created for
the run and removed after it, failures included. The caps' group is weighted above the machine's
other processes, so that a shared machine disturbs the figures less (it still does: compare ratios).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cgroups import CgroupUnavailable, CpuCap, cpu_caps
from bench.fake_infra import Infra, fake_infra
from bench.lambda_model import INIT_VCPUS, invoke_vcpus, lambda_env
from bench.runtime_venv import REPO, runtime_python, task_root, vend_at

REFERENCE_HANDLER = REPO / "bench" / "coldstart" / "naive_handler.py"
# The template's highest limits, so that no timed mint is refused: the write is the same at any limit.
QUOTA_HEADROOM = {"QUOTA_PER_VISITOR": "10000", "DAILY_CAP": "1000000"}
CHILD_TIMEOUT_S = 300


@dataclass(frozen=True)
class Sandbox:
    python: Path
    version: str
    memory_mb: int
    init: CpuCap
    invoke: CpuCap
    infra: Infra
    tasks: dict[str, Path]  # /var/task per handler: "ours", "reference" and maybe "before"

    def run(
        self, child_module: str, args: list[str], extra_env: dict[str, str], *, task: str = "ours"
    ) -> dict[str, Any]:
        """Starts `python -m child_module args` under the init cap (it moves itself to the invoke cap)
        and returns the figures it reports. A failed child ends the benchmark with its last lines."""
        with tempfile.NamedTemporaryFile(prefix="bench-result-", suffix=".json") as result:
            env = {
                "PATH": os.environ["PATH"],
                # /var/task, then this repository for bench.lambda_child
                "PYTHONPATH": f"{self.tasks[task]}:{REPO}",
                "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only: Lambda cannot cache bytecode there
                **lambda_env(self.memory_mb, self.infra.resources),
                **self.infra.env(),
                **QUOTA_HEADROOM,
                **extra_env,
                "BENCH_INVOKE_PROCS": str(self.invoke.procs),
                "BENCH_RESULT": result.name,
            }
            argv = [str(self.python), "-m", child_module, *args]
            child = self._start_in(self.init, argv, env)
            if child.returncode != 0:
                tail = "\n".join((child.stdout + child.stderr).splitlines()[-15:])
                raise SystemExit(f"{child_module} {' '.join(args)} failed ({child.returncode}):\n{tail}")
            figures: dict[str, Any] = json.loads(Path(result.name).read_text())
            return figures

    @staticmethod
    def _start_in(cap: CpuCap, argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        # The shell joins the cgroup and execs python, so its whole life, interpreter start included,
        # is under the cap (preexec_fn would be unsafe with the fakes' threads running here).
        join_then_exec = 'echo $$ > "$0" && exec "$@"'
        return subprocess.run(
            ["/bin/sh", "-c", join_then_exec, str(cap.procs), *argv],
            env={**env, "BENCH_SPAWNED_NS": str(time.monotonic_ns())},
            capture_output=True,  # stdout is the function's log stream
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )


@contextmanager
def sandbox(
    memory_mb: int, *, reference_bytecode: bool = False, before: str | None = None
) -> Iterator[Sandbox]:
    """`reference_bytecode` gives the reference handler's /var/task bytecode too, which SAM's standard
    builder does not ship: the two handlers' code then compared on the same layout. `before`: a commit
    whose functions/vend gets a /var/task of its own, "before", built as ours is."""
    python = runtime_python()
    version = subprocess.run([str(python), "-V"], capture_output=True, text=True, check=True).stdout.strip()
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind, so the cgroups go too
    try:
        with cpu_caps({"init": INIT_VCPUS, "invoke": invoke_vcpus(memory_mb), "services": None}) as caps:
            # This process serves the fakes (and moto, its child, starts here): uncapped, but
            # weighted like the children, so that the machine's other load does not slow the services'
            # answers either.
            caps["services"].procs.write_text(str(os.getpid()))
            with fake_infra() as infra, tempfile.TemporaryDirectory(prefix="bench-task-") as folder:
                tasks = {
                    "ours": task_root(Path(folder) / "ours", python, vend=True, compiled=True),
                    "reference": task_root(
                        Path(folder) / "reference",
                        python,
                        vend=False,
                        extra=(REFERENCE_HANDLER,),
                        compiled=reference_bytecode,
                    ),
                }
                if before is not None:
                    source = vend_at(before, Path(folder) / "before-source")
                    tasks["before"] = task_root(
                        Path(folder) / "before", python, vend=True, vend_source=source, compiled=True
                    )
                yield Sandbox(python, version, memory_mb, caps["init"], caps["invoke"], infra, tasks)
    except CgroupUnavailable as exc:
        raise SystemExit(f"this benchmark caps the CPU as Lambda does, with cgroups: {exc}") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]
