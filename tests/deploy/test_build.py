"""`sam build` packs the publisher with web/ as served (minified), and the packed publisher publishes it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from publisher import site
from publisher.served import served_files
from template_contract.reader import load_template, nested_template
from tests.conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def publisher_artifact(sam_build: Path) -> Path:
    return sam_build / "PublisherFunction"


def _web_files() -> list[str]:
    return sorted(served_files(REPO / "web"))


def test_the_package_is_the_publisher_and_web_as_served(publisher_artifact: Path) -> None:
    packed = sorted(
        p.relative_to(publisher_artifact / "site").as_posix()
        for p in (publisher_artifact / "site").rglob("*")
        if p.is_file()
    )
    code = sorted(p.name for p in (publisher_artifact / "publisher").iterdir())
    size = sum(f.stat().st_size for f in publisher_artifact.rglob("*") if f.is_file())

    assert packed == _web_files()
    assert {k: (publisher_artifact / "site" / k).read_bytes() for k in packed} == served_files(REPO / "web")
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


def test_the_build_carries_the_nested_monitoring_template_for_sam_deploy_to_upload(sam_build: Path) -> None:
    # `sam deploy` uploads every local template the built one names; the copy must be the source's.
    built = load_template(sam_build / "template.yaml")
    location = built["Resources"]["Monitoring"]["Properties"]["Location"]
    nested = sam_build / location

    assert nested.is_file(), location
    assert load_template(nested) == load_template(nested_template("Monitoring"))


def test_the_companion_is_built_from_the_same_makefile_target_into_the_same_artifact(sam_build: Path) -> None:
    # `sam build` ran `make build-CompanionFunction`: the vend function's files, byte for byte (bytecode
    # aside: it records the folder it was compiled in).
    def files(artifact: Path) -> dict[str, bytes]:
        return {
            p.relative_to(artifact).as_posix(): p.read_bytes()
            for p in artifact.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }

    def bytecode(artifact: Path) -> list[str]:
        return sorted(p.relative_to(artifact).as_posix() for p in artifact.rglob("*.pyc"))

    companion, vend = sam_build / "CompanionFunction", sam_build / "VendFunction"
    built = load_template(sam_build / "template.yaml")["Resources"]["CompanionFunction"]

    assert files(companion) == files(vend)
    assert bytecode(companion) == bytecode(vend)
    assert built["Properties"]["CodeUri"] == "CompanionFunction"
    assert built["Condition"] == "ServesRelay"
