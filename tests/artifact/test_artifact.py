"""`sam build` produces a lean artifact: runtime packages only, and a handler that imports from it alone."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_sam_build

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
def x86_64_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build --parameter-overrides Architecture=x86_64`, as a user on x86 without emulation runs it."""
    return run_sam_build(
        tmp_path_factory.mktemp("sam-build-x86_64"), "--parameter-overrides", "Architecture=x86_64"
    )


@pytest.fixture(scope="module", params=["arm64", "x86_64"])
def artifact(request: pytest.FixtureRequest) -> Path:
    build: Path = request.getfixturevalue("sam_build" if request.param == "arm64" else "x86_64_build")
    return build / "VendFunction"


def _contents(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        # pip's RECORD names the build folder; the import test below may have written __pycache__
        if p.is_file() and "__pycache__" not in p.parts and p.name != "RECORD"
    }


def test_artifact_is_pure_python_so_either_architecture_runs_it(artifact: Path) -> None:
    # SAM tells functions/Makefile nothing about the Architecture parameter: a compiled wheel would be
    # right for one architecture only.
    compiled = [p.name for p in artifact.rglob("*") if p.suffix in {".so", ".pyd"} or ".so." in p.name]
    wheel_tags = {
        line.split(":", 1)[1].strip()
        for wheel in artifact.glob("*.dist-info/WHEEL")
        for line in wheel.read_text().splitlines()
        if line.startswith("Tag:")
    }

    assert compiled == []
    assert {tag.rsplit("-", 1)[-1] for tag in wheel_tags} == {"any"}


def test_arm64_and_x86_64_builds_pack_the_same_artifact(sam_build: Path, x86_64_build: Path) -> None:
    assert _contents(x86_64_build / "VendFunction") == _contents(sam_build / "VendFunction")


def test_artifact_holds_only_runtime_packages(artifact: Path) -> None:
    top_level = {p.name.split("-")[0].lower() for p in artifact.iterdir()}

    assert "vend" in top_level
    assert {"aws_lambda_powertools", "httpx"} <= top_level
    assert sorted(top_level & set(DEV_ONLY)) == []
    assert not (artifact / "vend" / "tests").exists()
    size = sum(f.stat().st_size for f in artifact.rglob("*") if f.is_file())
    print(
        f"\nVendFunction artifact: {size / 1_000_000:.1f} MB unzipped, {len(list(artifact.rglob('*')))} files"
    )
    assert size < 15_000_000


def test_artifact_ships_unchecked_bytecode_for_the_runtimes_python(artifact: Path) -> None:
    # /var/task is read-only: without bytecode every cold start compiles each module it imports again.
    assert sys.version_info[:2] == (3, 13), "this check reads 3.13 bytecode: run it on the runtime's Python"
    sources = sorted(artifact.rglob("*.py"))
    missing, stale = [], []
    for source in sources:
        cached = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        if not cached.exists():
            missing.append(source.relative_to(artifact).as_posix())
            continue
        header = cached.read_bytes()[:16]
        flags = int.from_bytes(header[4:8], "little")
        # hash-based (bit 0) and unchecked (bit 1 clear): the runtime never stats the source
        if header[:4] != importlib.util.MAGIC_NUMBER or flags != 0b01:
            stale.append(cached.relative_to(artifact).as_posix())

    assert sources
    assert missing == []
    assert stale == []


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the python3.13 runtime puts in /var/runtime (boto3 and the rest), as the image stand-in has it."""
    target = tmp_path_factory.mktemp("var-runtime")
    uv = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    locked = REPO / "scripts" / "lambda-image" / "requirements.txt"
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            "--python",
            sys.executable,
            "-r",
            str(locked),
        ],
        check=True,
        timeout=300,
    )
    return target


def test_handler_imports_from_the_artifact_and_the_runtime_alone(artifact: Path, runtime_dir: Path) -> None:
    # -I -S: no site-packages, no PYTHONPATH — only the artifact, as /var/task would be, and the runtime's
    # own packages after it, as /var/runtime is: the SDK the handler uses is the runtime's, never bundled.
    code = (
        "import sys; sys.path[:0] = sys.argv[1:3]; import vend.app as a; "
        "assert callable(a.lambda_handler); "
        "print(sys.modules['boto3'].__file__ if 'boto3' in sys.modules else 'boto3 not imported yet')"
    )
    env = {
        "OPENAI_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PATH": os.environ["PATH"],
    }
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", code, str(artifact), str(runtime_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    boto3_from = result.stdout.strip().splitlines()[-1]
    assert boto3_from == "boto3 not imported yet" or boto3_from.startswith(str(runtime_dir))


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
