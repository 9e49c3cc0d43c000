"""functions/Makefile on a machine without the runtime's Python: the build still works, and says what
it could not do. SAM shows a successful make's stdout only, so the notice must be there."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_without_python313_the_build_ships_no_bytecode_and_says_so_on_stdout(tmp_path: Path) -> None:
    # A PATH with a pip-capable `python3` (the tool venv's, under that name only) and the few tools the
    # recipe runs; no `python3.13`, and a HOME without pyenv.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(REPO / ".venv-tools" / "bin" / "python3")
    for tool in ("make", "sh", "cp", "rm", "find", "test"):
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run the Makefile"
        (bin_dir / tool).symlink_to(found)
    artifact = tmp_path / "artifact"
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path / "home"), "LANG": os.environ.get("LANG", "C.UTF-8")}

    result = subprocess.run(
        ["make", "--no-print-directory", "build-VendFunction", f"ARTIFACTS_DIR={artifact}"],
        cwd=REPO / "functions",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "no python3.13 on PATH or in pyenv" in result.stdout
    assert (artifact / "vend" / "app.py").exists()
    assert not list(artifact.rglob("__pycache__"))
