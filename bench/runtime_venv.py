"""A venv that holds only what the Lambda has: functions/requirements.txt plus the runtime's boto3.

Cold start is measured there, not in the dev venv, where test tooling would skew imports.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv-bench-runtime"
# What the python3.13 Lambda runtime ships besides our artifact (boto3 and its own dependencies).
RUNTIME_PROVIDED = ["boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"]


def runtime_python() -> Path:
    """The venv's python, (re)built when functions/requirements.txt changes."""
    requirements = REPO / "functions" / "requirements.txt"
    stamp = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    python = VENV / "bin" / "python"
    if (VENV / ".stamp").exists() and (VENV / ".stamp").read_text() == stamp and python.exists():
        return python
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is needed: run scripts/bootstrap")
    base = Path(REPO / ".venv" / "bin" / "python").resolve()
    subprocess.run([uv, "venv", "--quiet", "--allow-existing", "--python", str(base), str(VENV)], check=True)
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), "--no-deps", "-r", str(requirements)],
        check=True,
    )
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), *RUNTIME_PROVIDED], check=True)
    (VENV / ".stamp").write_text(stamp)
    return python
