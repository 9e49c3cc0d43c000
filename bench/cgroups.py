"""CPU caps for the Lambda model: cgroups this benchmark creates, and removes again, even on failure.

cgroup v1 (`cpu.cfs_quota_us` / `cpu.cfs_period_us`) where the `cpu` controller is mounted as v1, v2
(`cpu.max`) where it is in the unified hierarchy. Needs root. A process joins a cap by writing its pid to
`cgroup.procs` (all its threads move with it, unlike v1's `tasks`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PERIOD_US = 100_000  # the kernel's default CFS period
# The benchmark's group outweighs each other process 10 to 1 (default 1024 / 100): on a machine shared
# with other work a 1-vCPU cap should still mean about one vCPU, as Lambda guarantees it.
SHARES_V1, WEIGHT_V2 = 10_240, 1_000
PREFIX = "realtime-vend-bench-"


class CgroupUnavailable(RuntimeError):
    """No writable cgroup with the cpu controller: the benchmark cannot model Lambda's CPU shares."""


@dataclass(frozen=True)
class CpuCap:
    path: Path

    @property
    def procs(self) -> Path:
        """Write a pid here to move that process, all threads, under this cap."""
        return self.path / "cgroup.procs"


@dataclass(frozen=True)
class _Hierarchy:
    version: int
    parent: Path  # where our cgroup folder goes


def _find_hierarchy() -> _Hierarchy:
    # At the mount's root: as root we may write there, and a container's mount is its own subtree.
    mounts = [line.split() for line in Path("/proc/self/mounts").read_text().splitlines()]
    for _device, mountpoint, fstype, options, *_ in mounts:
        if fstype == "cgroup" and "cpu" in options.split(","):
            return _Hierarchy(1, Path(mountpoint))
    for _device, mountpoint, fstype, *_ in mounts:
        controllers = Path(mountpoint) / "cgroup.controllers"
        if fstype == "cgroup2" and controllers.exists() and "cpu" in controllers.read_text().split():
            return _Hierarchy(2, Path(mountpoint))
    raise CgroupUnavailable(
        "no cgroup hierarchy with the cpu controller is mounted (looked for cgroup v1 `cpu` and cgroup2 "
        "with `cpu` in cgroup.controllers, in /proc/self/mounts)"
    )


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as exc:
        raise CgroupUnavailable(f"cannot write {value!r} to {path}: {exc.strerror} (run as root)") from exc


def _remove(folder: Path, parent_procs: Path) -> None:
    """rmdir a cgroup, first moving any process still in it (a killed child's last moments) out."""
    for _ in range(50):
        with contextlib.suppress(FileNotFoundError, OSError):
            for pid in (folder / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):
                    parent_procs.write_text(pid)
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise
            time.sleep(0.02)
    folder.rmdir()


def _remove_group(base: Path, parent_procs: Path) -> None:
    """The benchmark's group: its caps first (a cgroup with children cannot be removed), then itself."""
    for child in base.iterdir():
        if child.is_dir():
            _remove(child, parent_procs)
    _remove(base, parent_procs)


def _remove_stale(parent: Path) -> None:
    """Folders left by a run that was SIGKILLed (its pid is gone) would otherwise pile up."""
    for folder in parent.glob(PREFIX + "*"):
        pid = folder.name.removeprefix(PREFIX)
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _remove_group(folder, parent / "cgroup.procs")


@contextlib.contextmanager
def cpu_caps(vcpus: dict[str, float | None]) -> Iterator[dict[str, CpuCap]]:
    """One cgroup per name, capped at that many vCPUs (None: uncapped), all in one group weighted
    above the machine's other processes; all removed on exit, their processes moved out first."""
    hierarchy = _find_hierarchy()
    _remove_stale(hierarchy.parent)
    base = hierarchy.parent / f"{PREFIX}{os.getpid()}"
    if hierarchy.version == 2:
        # v2 hands the cpu controller down one level at a time.
        _enable_cpu(hierarchy.parent / "cgroup.subtree_control")
    try:
        base.mkdir()
    except OSError as exc:
        raise CgroupUnavailable(f"cannot create {base}: {exc.strerror} (run as root)") from exc
    caps: dict[str, CpuCap] = {}
    try:
        if hierarchy.version == 1:
            _write(base / "cpu.shares", str(SHARES_V1))
        else:
            _write(base / "cpu.weight", str(WEIGHT_V2))
            _enable_cpu(base / "cgroup.subtree_control")
        for name, share in vcpus.items():
            folder = base / name
            folder.mkdir()
            caps[name] = CpuCap(folder)
            if share is None:
                continue
            quota = max(1000, round(share * PERIOD_US))  # the kernel refuses quotas under 1 ms
            if hierarchy.version == 1:
                _write(folder / "cpu.cfs_period_us", str(PERIOD_US))
                _write(folder / "cpu.cfs_quota_us", str(quota))
            else:
                _write(folder / "cpu.max", f"{quota} {PERIOD_US}")
        yield caps
    finally:
        _remove_group(base, hierarchy.parent / "cgroup.procs")


def _enable_cpu(subtree_control: Path) -> None:
    if "cpu" not in subtree_control.read_text().split():
        _write(subtree_control, "+cpu")
