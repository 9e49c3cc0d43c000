"""The layers hold: `vend.logic` decides with the ground floor's values and protocols, so every module
of it loads in a process where boto3, botocore and httpx cannot be imported at all."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import textwrap

import vend.logic
from tests.conftest import REPO

# Run in a fresh interpreter: this one has long imported them (the functional suites, moto, respx).
BLOCKED_IMPORT = textwrap.dedent(
    """
    import importlib, sys

    BLOCKED = ("boto3", "botocore", "httpx")

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"blocked: {name}", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    for name in sys.argv[1:]:
        importlib.import_module(name)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    assert not loaded, loaded
    print("imported", len(sys.argv) - 1)
    """
)


def logic_modules() -> list[str]:
    return sorted(module.name for module in pkgutil.iter_modules(vend.logic.__path__, prefix="vend.logic."))


def import_blocked(*modules: str) -> subprocess.CompletedProcess[str]:
    """Import `modules` in a fresh interpreter whose meta path refuses boto3, botocore and httpx."""
    return subprocess.run(
        [sys.executable, "-c", BLOCKED_IMPORT, *modules],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO / "functions"), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_every_logic_module_imports_without_boto3_botocore_or_httpx() -> None:
    modules = logic_modules()
    assert {"vend.logic.mint", "vend.logic.quota", "vend.logic.relay"} <= set(modules)

    result = import_blocked(*modules)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"imported {len(modules)}"


def test_the_blocker_refuses_boto3() -> None:
    # Without this, a blocker that blocked nothing would pass the test above.
    result = import_blocked("vend.aws.usage_table")

    assert result.returncode != 0
    assert "blocked: boto3" in result.stderr
