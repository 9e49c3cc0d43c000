"""`sam build` produces a lean artifact: runtime packages only, and a handler that imports from it alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

DEV_ONLY = (
    "moto",
    "pytest",
    "aiortc",
    "aiohttp",
    "playwright",
    "mypy_boto3",
    "boto3_stubs",
    "botocore_stubs",
    "respx",
    "openai",
    "numpy",
    "av",
    "ruff",
    "mypy",
    "pydantic",
    "boto3",
    "botocore",
)


@pytest.fixture(scope="module")
def artifact(sam_build: Path) -> Path:
    return sam_build / "VendFunction"


def test_artifact_holds_only_runtime_packages(artifact: Path) -> None:
    top_level = {p.name.split("-")[0].lower() for p in artifact.iterdir()}

    assert "vend" in top_level
    assert {"aws_lambda_powertools", "httpx"} <= top_level
    assert sorted(top_level & set(DEV_ONLY)) == []
    assert not list(artifact.rglob("__pycache__"))
    assert not (artifact / "vend" / "tests").exists()
    size = sum(f.stat().st_size for f in artifact.rglob("*") if f.is_file())
    print(
        f"\nVendFunction artifact: {size / 1_000_000:.1f} MB unzipped, {len(list(artifact.rglob('*')))} files"
    )
    assert size < 15_000_000


def test_handler_imports_from_the_artifact_alone(artifact: Path) -> None:
    # -I -S: no site-packages, no PYTHONPATH — only the artifact, as /var/task would be (boto3, which the
    # runtime provides, is imported on the first mint, not at import).
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import vend.app as a; "
        "assert callable(a.lambda_handler); print('boto3' in sys.modules)"
    )
    env = {
        "OPENAI_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PATH": os.environ["PATH"],
    }
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(artifact)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_runtime_pins_match_the_dev_environment() -> None:
    """The tests run against the versions the Lambda gets: functions/requirements.txt and pyproject agree."""
    pins = dict(
        line.split("==")
        for line in (REPO / "functions" / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    pyproject = (REPO / "pyproject.toml").read_text()

    assert f'"aws-lambda-powertools[tracer]=={pins["aws-lambda-powertools"]}"' in pyproject
    assert f'"httpx=={pins["httpx"]}"' in pyproject
