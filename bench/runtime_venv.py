"""What a Lambda execution environment holds, laid out as Lambda lays it out.

- the runtime: a venv with Python and what the python3.13 runtime ships (boto3 and its dependencies),
  byte-compiled, as in the runtime's image;
- the artifact's dependencies: functions/requirements.txt installed with --no-deps into a folder;
- /var/task, one per handler and per benchmark run: ours as functions/Makefile builds it (the
  dependencies and functions/vend, byte-compiled in unchecked-hash mode), the reference as SAM's
  standard Python builder builds it (it unpacks wheels: no bytecode, so, /var/task being read-only,
  Lambda compiles every module in memory at every cold start).

Cold start is measured there, not in the dev venv, where test tooling would skew imports.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv-bench-runtime"
ARTIFACT_DEPS = VENV / "artifact-deps"
# What the python3.13 Lambda runtime ships besides our artifact (boto3 and its own dependencies).
RUNTIME_PROVIDED = ["boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"]


def runtime_python() -> Path:
    """The runtime venv's python; the venv and the artifact's dependencies are (re)built when
    functions/requirements.txt or this recipe changes."""
    requirements = REPO / "functions" / "requirements.txt"
    recipe = requirements.read_bytes() + Path(__file__).read_bytes()
    stamp = hashlib.sha256(recipe).hexdigest()[:16]
    python = VENV / "bin" / "python"
    if (VENV / ".stamp").exists() and (VENV / ".stamp").read_text() == stamp and python.exists():
        return python
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is needed: run scripts/bootstrap")
    base = Path(REPO / ".venv" / "bin" / "python").resolve()
    subprocess.run([uv, "venv", "--quiet", "--clear", "--python", str(base), str(VENV)], check=True)
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python), *RUNTIME_PROVIDED],
        check=True,
    )
    artifact = ["--no-deps", "--target", str(ARTIFACT_DEPS), "-r", str(requirements)]
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), *artifact], check=True)
    (VENV / ".stamp").write_text(stamp)
    return python


def task_root(
    destination: Path,
    python: Path,
    *,
    vend: bool,
    vend_source: Path = REPO / "functions" / "vend",
    extra: tuple[Path, ...] = (),
    compiled: bool,
) -> Path:
    """/var/task: the dependencies, functions/vend (or `vend_source`) if `vend`, and extra modules (the
    reference handler), byte-compiled as functions/Makefile does when `compiled` (reproducible
    unchecked-hash bytecode)."""
    shutil.copytree(ARTIFACT_DEPS, destination, dirs_exist_ok=True)
    if vend:
        shutil.copytree(vend_source, destination / "vend", ignore=shutil.ignore_patterns("__pycache__"))
    for module in extra:
        shutil.copy2(module, destination / module.name)
    if compiled:
        compileall = [str(python), "-m", "compileall", "-q"]
        compileall += ["--invalidation-mode", "unchecked-hash", str(destination)]
        subprocess.run(compileall, check=True, stdout=subprocess.DEVNULL)
    return destination


def vend_at(commit: str, destination: Path) -> Path:
    """functions/vend as it was at `commit`, extracted under `destination`; returns its folder.
    Its dependencies are today's: a commit whose functions/requirements.txt differs is refused."""
    requirements = [
        "git",
        "-C",
        str(REPO),
        "diff",
        "--quiet",
        commit,
        "HEAD",
        "--",
        "functions/requirements.txt",
    ]
    if subprocess.run(requirements, check=False).returncode != 0:
        raise SystemExit(f"functions/requirements.txt changed since {commit}: its handler needs its own deps")
    destination.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "functions/vend"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(destination)], input=archive.stdout, check=True)
    return destination / "functions" / "vend"
