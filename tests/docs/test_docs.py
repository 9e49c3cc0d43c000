"""The README and docs/ stay true to the repository: every link resolves, every script, module, flag and
path they name exists, every status and error code they quote is one openapi.yaml documents (the one
tested list of statuses, which no page copies), and the README stays one page that leads to every other.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.docs.markdown import (
    anchors,
    doc_files,
    github_slug,
    links,
    options_in_source,
    problems_with_command,
    problems_with_commands,
    problems_with_links,
    problems_with_paths,
    prose,
    shell_lines,
    simple_commands,
)
from tests.security.harness import documented_pairs

DOCS = doc_files()
README = REPO / "README.md"
DOC_IDS = [str(doc.relative_to(REPO)) for doc in DOCS]
# "429 `quota_exceeded`", "503 `service_paused`": a status the function answers, with its code.
QUOTED_STATUS = re.compile(r"\b([1-5][0-9]{2})\s+`([a-z][a-z0-9_]*)`")


# --- the checkers can fail --------------------------------------------------------------------------


def test_anchors_are_github_s() -> None:
    assert github_slug("Relay or not: choosing `CallMode`") == "relay-or-not-choosing-callmode"
    assert github_slug("For programs: `--ready-json`") == "for-programs---ready-json"
    assert github_slug("Using OpenAI's Agents SDK") == "using-openais-agents-sdk"
    assert github_slug("`sam local` (needs Docker)") == "sam-local-needs-docker"
    text = "# Logs\n\n```sh\n# not a heading\n```\n\n## Logs\n"
    assert anchors(text) == {"logs", "logs-1"}


def test_a_broken_link_anchor_or_scheme_is_reported() -> None:
    text = (
        "[a](operations.md#no-such-heading) [b](http://example.com/) [c](nothing.md) `[d](x)` [e](api.md)\n"
    )
    assert links(text) == ["operations.md#no-such-heading", "http://example.com/", "nothing.md", "api.md"]

    problems = problems_with_links(REPO / "docs" / "deploy.md", text)

    assert len(problems) == 3, problems
    assert problems_with_links(REPO / "docs" / "deploy.md", "[ok](operations.md#logs)") == []


def test_an_unknown_script_module_or_flag_is_reported() -> None:
    [words] = simple_commands("IMAGE=$(scripts/local --no-such-flag --port 8000)   # comment --ignored")
    assert words == ["scripts/local", "--no-such-flag", "--port", "8000"]
    assert problems_with_command(words) == ["scripts/local has no option --no-such-flag"]
    assert problems_with_command(["scripts/no-such-script"])
    assert problems_with_command(["scripts/bootstrap", "--tool"])
    assert problems_with_command([".venv/bin/python", "-m", "bench.no_such_bench"])
    assert problems_with_command(["python", "-m", "bench.transcript", "--no-such-flag"])
    assert problems_with_command(["npm", "--prefix", "tests/browser", "run", "no-such-script"])
    assert problems_with_command(["scripts/bootstrap", "--tools", "--docker"]) == []


def test_a_script_s_own_options_are_read_from_its_source() -> None:
    assert options_in_source(
        'for arg in "$@"; do\n  case "$arg" in\n    --tools) x=1 ;;\n  esac\ndone\n'
    ) == {"--tools"}
    assert options_in_source('if [[ "${1:-}" == --fast ]]; then shift; fi\n') == {"--fast"}
    assert options_in_source('if [[ " $* " == *" --fast "* ]]; then\n') == {"--fast"}
    assert options_in_source("# Usage: scripts/test [--fast]\n.venv/bin/ruff format --check .\n") == set()


# --- the docs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", DOCS, ids=DOC_IDS)
def test_every_link_resolves(doc: Path) -> None:
    assert problems_with_links(doc) == []


@pytest.mark.parametrize("doc", DOCS, ids=DOC_IDS)
def test_every_script_module_and_flag_named_exists(doc: Path) -> None:
    assert problems_with_commands(doc) == []


@pytest.mark.parametrize("doc", DOCS, ids=DOC_IDS)
def test_every_path_named_exists(doc: Path) -> None:
    assert problems_with_paths(doc) == []


@pytest.mark.parametrize("doc", DOCS, ids=DOC_IDS)
def test_every_status_quoted_with_its_code_is_one_openapi_documents(doc: Path) -> None:
    quoted = {(int(status), code) for status, code in QUOTED_STATUS.findall(doc.read_text())}

    assert quoted - documented_pairs() == set()


@pytest.mark.parametrize("doc", DOCS, ids=DOC_IDS)
def test_no_page_copies_the_status_table(doc: Path) -> None:
    lines = prose(doc.read_text()).splitlines()
    headers = [line for line in lines if re.match(r"\|\s*status\s*\|", line, re.IGNORECASE)]

    assert headers == [], "the statuses are listed in openapi.yaml only"


def test_the_readme_is_a_page_that_leads_to_every_doc() -> None:
    readme = README.read_text()
    linked = {(README.parent / link.partition("#")[0]).resolve() for link in links(readme)}

    assert len(readme.splitlines()) <= 150
    assert {page.resolve() for page in DOCS if page != README} <= linked
    assert (REPO / "openapi.yaml").resolve() in linked


def test_the_readme_shows_the_two_commands_and_the_docs_show_the_fast_loop() -> None:
    def commands(doc: Path) -> list[list[str]]:
        return [words for line in shell_lines(doc.read_text()) for words in simple_commands(line)]

    readme_commands = commands(README)
    development = commands(REPO / "docs" / "development.md")

    assert ["scripts/local"] in readme_commands
    assert ["scripts/test"] in readme_commands
    assert ["scripts/test", "--fast"] in development
