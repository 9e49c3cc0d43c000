"""The page as visitors get it: light on first load, complete to preload, and the same bytes from a
deploy and from the local stack (publisher.served.served_files is the one source of both)."""

from __future__ import annotations

import hashlib
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from local.stack import StackProcess
from publisher import site
from publisher.served import served_files
from tests.conftest import REPO
from tests.deploy import page_graph

WEB = REPO / "web"
# issue 17: the first load (index.html, what it names, the modules it imports statically) gzipped
FIRST_LOAD_BUDGET_BYTES = 24_000
# Loaded only when needed: sign-in (and the account view it shows), a relayed call's countdown, and the
# level meters, which have nothing to show before a call.
LAZY = {
    "js/auth/sign-in-session.js",
    "js/auth/redirect-state.js",
    "js/vendor/oauth4webapi.js",
    "js/account-view.js",
    "js/call-countdown.js",
    "js/level-meter.js",
}


@pytest.fixture(scope="module")
def served() -> dict[str, bytes]:
    return served_files(WEB)


def test_the_first_load_is_at_most_24_kb_gzipped_as_served(served: dict[str, bytes]) -> None:
    size = page_graph.first_load_gzipped(served)
    written = page_graph.first_load_gzipped(site.page_files(WEB))

    assert size <= FIRST_LOAD_BUDGET_BYTES, f"first load {size} B gzipped (budget {FIRST_LOAD_BUDGET_BYTES})"
    assert size < written * 0.6, f"served {size} B is not much lighter than the sources' {written} B"


def test_every_statically_imported_module_is_preloaded_and_the_lazy_ones_are_not(
    served: dict[str, bytes],
) -> None:
    entries = page_graph.entry_modules(served)
    graph = set().union(*(page_graph.module_graph(served, entry) for entry in entries))

    assert entries == {"js/main.js"}
    assert page_graph.preloaded(served) == graph - entries
    assert not LAZY & graph
    assert set(served) >= LAZY, "a lazy module is missing from what is served"
    # each lazy module is still reached, by a dynamic import of a served module (or from one)
    dynamic = set().union(
        *(page_graph.dynamic_imports(key, body) for key, body in served.items() if key.endswith(".js"))
    )
    assert LAZY - {"js/auth/redirect-state.js", "js/vendor/oauth4webapi.js"} <= dynamic


def test_scripts_and_styles_are_served_without_comments_and_the_vendored_library_as_published(
    served: dict[str, bytes],
) -> None:
    for key, body in served.items():
        text = body.decode("utf-8", errors="replace")
        if key.startswith("js/vendor/"):
            assert body == (WEB / key).read_bytes(), key
        elif key.endswith((".js", ".css")):
            assert "/**" not in text and "\n  " not in text, f"{key} still has comments or indentation"
        elif key.endswith(".html"):
            assert "<!--" not in text, key
    # the vendored library's checksum file still describes the bytes served
    version = served["js/vendor/oauth4webapi.VERSION.txt"].decode()
    digest = hashlib.sha256(served["js/vendor/oauth4webapi.js"]).hexdigest()
    assert f"sha256 {digest}" in version
    assert "LICENSE" in " ".join(served), "the vendored library's licence is served beside it"


@pytest.mark.slow
def test_the_local_stack_serves_exactly_what_a_deploy_publishes(tmp_path: Path) -> None:
    # What a deploy publishes: `sam build`'s recipe writes the package, whose handler publishes site/
    artifact = tmp_path / "artifact"
    build = subprocess.run(
        ["make", "--no-print-directory", "build-PublisherFunction", f"ARTIFACTS_DIR={artifact}"],
        cwd=REPO / "publisher",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    published = {
        o.key: o.body
        for o in site.site_objects(artifact / "site", "https://api.openai.com")
        if o.key != site.CONFIG_KEY
    }
    assert published == served_files(WEB)
    assert sorted(p.name for p in (artifact / "publisher").iterdir()) == [
        "__init__.py",
        "bucket.py",
        "cfn_response.py",
        "distribution.py",
        "handler.py",
        "site.py",
    ], "the build-time minifier and its dependencies stay out of the Lambda"

    # What the local stack serves, for every published file (index.html at / too)
    with StackProcess("--port", "0") as stack:
        served = {key: _get(f"{stack.url}{key}") for key in published}
        root = _get(stack.url)
        missing = _status(f"{stack.url}js/not-published.js")

    assert served == published
    assert root == published[site.INDEX_KEY]
    assert missing == 404


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own loopback stack
        return bytes(response.read())


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
