"""The README's deploy commands, word for word, in a fresh copy of the repository, up to `sam build`.

The commands are read from README.md ("Deploy to your AWS account"), so the test and the README cannot
drift. `sam deploy` needs an AWS account, so each command line stops where `sam deploy` begins. The shell
is a newcomer's: no venv active, no pyenv version chosen, so a `python3.13` pyenv shim on PATH fails as it
does on a fresh machine whose pyenv global is another version.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

SECTION = "## Deploy to your AWS account"


def readme_deploy_commands(readme: str) -> list[str]:
    """The shell a newcomer types from the README's deploy section, in order, up to `sam build`."""
    start = readme.index(SECTION)
    end = min(i for i in (readme.find("\n---", start), readme.find("\n## ", start + 1), len(readme)) if i > 0)
    section = readme[start:end]
    block_lines = [
        line.split("  #")[0].strip()
        for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
        for line in block.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    # The bootstrap may be offered in prose ("No SAM CLI? `scripts/bootstrap …`") or in the block.
    inline = [span for span in re.findall(r"`([^`\n]+)`", section) if span.startswith("scripts/bootstrap")]
    in_block = [line for line in block_lines if line.startswith("scripts/bootstrap")]
    commands = list(dict.fromkeys([*in_block, *inline]))
    for line in block_lines:
        if line.startswith("scripts/bootstrap"):
            continue
        before_deploy = line.split("sam deploy")[0].rstrip(" &")
        if before_deploy:
            commands.append(before_deploy)
        if "sam build" in line:
            break
    return commands


def _fresh_copy(dest: Path) -> Path:
    """What `git clone` gives, with the working tree's edits: every tracked file, nothing else."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, text=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    (dest / ".git").mkdir()  # a checkout, as far as the scripts can tell; nothing reads its history
    return dest


def _newcomer_env() -> dict[str, str]:
    venvs = {str(REPO / ".venv" / "bin"), str(REPO / ".venv-tools" / "bin")}
    path = [d for d in os.environ["PATH"].split(os.pathsep) if d not in venvs]
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"VIRTUAL_ENV", "PYENV_VERSION", "PYTHONPATH", "PYTHONHOME"}
        and not k.startswith("PYTEST")
    }
    return {**env, "PATH": os.pathsep.join(path), "SAM_CLI_TELEMETRY": "0"}


def _run(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=_newcomer_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_the_readme_names_the_bootstrap_the_activation_and_sam_build() -> None:
    commands = readme_deploy_commands((REPO / "README.md").read_text())

    assert any("scripts/bootstrap --tools" in c and "source .venv-tools/bin/activate" in c for c in commands)
    assert commands[-1].endswith("sam build")


def test_readme_deploy_commands_build_in_a_fresh_clone_activated_or_not(tmp_path: Path) -> None:
    clone = _fresh_copy(tmp_path / "realtime-vend")
    commands = readme_deploy_commands((REPO / "README.md").read_text())

    # Word for word: the activated tool venv's own python3.13 comes first on PATH.
    activated = _run("\n".join(commands), clone)
    assert activated.returncode == 0, f"{commands}\n{activated.stdout[-3000:]}{activated.stderr[-3000:]}"
    assert (clone / ".aws-sam" / "build" / "VendFunction" / "vend" / "app.py").is_file()
    assert (clone / ".aws-sam" / "build" / "VendFunction" / "httpx").is_dir()

    # Not activated: the same build through the tool venv's sam, with PATH as the newcomer has it.
    shutil.rmtree(clone / ".aws-sam")
    plain = _run(".venv-tools/bin/sam build", clone)
    assert plain.returncode == 0, plain.stdout[-3000:] + plain.stderr[-3000:]
    assert (clone / ".aws-sam" / "build" / "VendFunction" / "vend" / "app.py").is_file()
