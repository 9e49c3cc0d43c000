"""`sam build` packs the publisher with a copy of web/, and the packed publisher publishes exactly web/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from publisher import site
from tests.conftest import REPO

pytestmark = pytest.mark.slow
SAM = REPO / ".venv-tools" / "bin" / "sam"


def _python313_dir() -> str | None:
    """Where python3.13 (the Lambda runtime, which `sam build` needs) is: PATH or pyenv."""
    found = shutil.which("python3.13")
    if found and subprocess.run([found, "-V"], capture_output=True, check=False).returncode == 0:
        return str(Path(found).parent)
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [d for d in sorted(pyenv.glob("versions/3.13*/bin")) if (d / "python3.13").exists()]
    return str(candidates[0]) if candidates else None


@pytest.fixture(scope="module")
def publisher_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    python_dir = _python313_dir()
    assert SAM.exists(), "run scripts/bootstrap --tools first (SAM CLI lives in .venv-tools)"
    assert python_dir, "sam build needs python3.13 (the Lambda runtime) on PATH"
    build_dir = tmp_path_factory.mktemp("sam-build-publisher")
    env = {**os.environ, "PATH": f"{python_dir}:{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run(
        [str(SAM), "build", "PublisherFunction", "--build-dir", str(build_dir)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return build_dir / "PublisherFunction"


def _web_files() -> list[str]:
    return sorted(
        p.relative_to(REPO / "web").as_posix()
        for p in (REPO / "web").rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(REPO / "web").parts)
    )


def test_the_package_is_the_publisher_and_a_copy_of_web(publisher_artifact: Path) -> None:
    packed = sorted(
        p.relative_to(publisher_artifact / "site").as_posix()
        for p in (publisher_artifact / "site").rglob("*")
        if p.is_file()
    )
    code = sorted(p.name for p in (publisher_artifact / "publisher").iterdir())
    size = sum(f.stat().st_size for f in publisher_artifact.rglob("*") if f.is_file())

    assert packed == _web_files()
    assert code == ["__init__.py", "bucket.py", "cfn_response.py", "distribution.py", "handler.py", "site.py"]
    assert size < 2_000_000  # no dependencies: the runtime's boto3 is enough


def test_the_packed_publisher_finds_its_site_and_publishes_all_of_web(publisher_artifact: Path) -> None:
    # Imported from the artifact, as /var/task would be: the handler's SITE_ROOT must be the packed site/.
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[1]); from publisher import handler, site; "
        "print(json.dumps([str(handler.SITE_ROOT), handler.__file__, "
        "[o.key for o in site.site_objects(handler.SITE_ROOT, 'https://api.openai.com')]]))"
    )
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), "-c", code, str(publisher_artifact)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    site_root, module_file, keys = json.loads(result.stdout)

    assert site_root == str(publisher_artifact / "site")
    assert module_file.startswith(str(publisher_artifact))
    expected = sorted({*_web_files(), site.CONFIG_KEY})
    assert sorted(keys) == expected
