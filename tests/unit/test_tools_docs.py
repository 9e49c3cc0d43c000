"""docs/tools.md's example tool is real code: it imports, declares a valid schema and answers a call."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from tests.conftest import REPO
from vend.tools import by_name
from vend.tools.executor import ToolOutcome, run_tool_call

DOC = REPO / "docs" / "tools.md"


def example_source() -> str:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)[0]


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("vend.tools.get_opening_hours")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(example_source(), str(DOC), "exec"), module.__dict__)  # noqa: S102 (our own docs)
    return module


def test_the_example_tool_answers_a_call(example: types.ModuleType) -> None:
    tools = by_name([example.TOOL])

    assert run_tool_call(tools, "get_opening_hours", '{"day": "sunday"}', timeout=5) == ToolOutcome(
        "On a sunday the shop is closed.", ok=True, ends_call=False
    )
    assert not run_tool_call(tools, "get_opening_hours", '{"day": "holiday"}', timeout=5).ok


def test_the_example_tool_s_definition(example: types.ModuleType) -> None:
    parameters = example.TOOL.definition()["parameters"]

    assert parameters["required"] == ["day"]
    assert parameters["properties"]["day"]["enum"] == ["weekday", "saturday", "sunday"]


def test_the_example_is_lint_clean(tmp_path: Path) -> None:
    source = tmp_path / "get_opening_hours.py"
    source.write_text(example_source())
    ruff = Path(sys.executable).with_name("ruff")

    result = subprocess.run(
        [str(ruff), "check", "--no-cache", "--config", str(REPO / "pyproject.toml"), str(source)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout


def test_the_registry_the_docs_name_exists_and_the_readme_links_them() -> None:
    registry = (REPO / "functions" / "vend" / "tools" / "registry.py").read_text()

    assert "_SHIPPED: tuple[Tool[Any], ...] = (" in registry
    assert "](docs/tools.md)" in (REPO / "README.md").read_text()
