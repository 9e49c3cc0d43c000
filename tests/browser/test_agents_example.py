"""examples/agents-realtime, OpenAI's Agents SDK on our client secret, as a developer would run it.

The example is installed and bundled the way its README says (`npm ci`, `npm run build`), then
served by the local stack under the page's production headers and driven in headless Chromium
against the stand-in. `npm ci` runs only when package-lock.json changed since the last install and
the bundle is rebuilt only when its inputs changed, so a clean clone needs no manual step and a
second run starts at once.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from local.openai_standin import validate_server_event
from local.stack import REPO, StackProcess
from tests.browser.conftest import PageRecord, Standin, _open_page, _stack_env
from tests.browser.helpers import STATE_TIMEOUT_MS, eventually

pytestmark = pytest.mark.browser

EXAMPLE = REPO / "examples" / "agents-realtime"
EXAMPLE_PATH = "/examples/agents-realtime/"
# Everything the bundle is made of; node_modules is pinned by the lockfile.
BUILD_INPUTS = ("package.json", "package-lock.json", "main.js", "zod-jitless.js")
INSTALL_STAMP = EXAMPLE / "node_modules" / ".realtime-vend-lock-sha256"
BUILD_STAMP = EXAMPLE / "dist" / ".realtime-vend-inputs-sha256"
NPM_TIMEOUT_S = 600
# The stack mints a session unlike the SDK's defaults (model gpt-realtime-2.1, semantic_vad, no
# instructions), so a page that let the SDK fill in its own would show it. Names: template.yaml.
MINTED = {
    "REALTIME_MODEL": "gpt-realtime-2.1-mini",
    "REALTIME_VOICES": "cedar",
    "REALTIME_INSTRUCTIONS": "You are the Agents SDK example's assistant. Answer in one short sentence.",
    "REALTIME_TURN_DETECTION": "server_vad",
}


def _digest(*names: str) -> str:
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0" + (EXAMPLE / name).read_bytes() + b"\0")
    return digest.hexdigest()


def _npm(*args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to build examples/agents-realtime (Node 20+)")
    result = subprocess.run(
        [npm, *args], cwd=EXAMPLE, capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"`npm {' '.join(args)}` failed in {EXAMPLE}:\n{result.stderr[-4000:]}")


@pytest.fixture(scope="module")
def built_example() -> Path:
    """The example installed from its lockfile and bundled, redone only when an input changed."""
    lock = _digest("package-lock.json")
    if not INSTALL_STAMP.is_file() or INSTALL_STAMP.read_text() != lock:
        _npm("ci", "--no-audit", "--no-fund", "--loglevel=error")
        INSTALL_STAMP.write_text(lock)
    inputs = _digest(*BUILD_INPUTS)
    if not BUILD_STAMP.is_file() or BUILD_STAMP.read_text() != inputs:
        _npm("run", "--silent", "build")
        BUILD_STAMP.write_text(inputs)
    return EXAMPLE


@dataclass
class ExampleStack:
    url: str  # the example page
    page_url: str  # the product page, for comparing headers
    standin: Standin


@pytest.fixture(scope="module")
def example_stack(built_example: Path) -> Iterator[ExampleStack]:
    env = _stack_env()  # the suite never talks to OpenAI
    env.update(MINTED)  # the handler reads its settings from the environment, as in Lambda
    static = f"{EXAMPLE_PATH}={built_example.relative_to(REPO)}"
    with StackProcess("--port", "0", "--static", static, env=env) as process:
        assert process.standin_url, "the example runs against the stand-in"
        standin = Standin(process.standin_url)
        yield ExampleStack(url=process.url + EXAMPLE_PATH.lstrip("/"), page_url=process.url, standin=standin)


# Runs before the page's scripts, whatever the CSP: every violation the policy reports is kept.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}`);
});
"""


@pytest.fixture
def example_page(browser: Browser, example_stack: ExampleStack, page_record: PageRecord) -> Iterator[Page]:
    example_stack.standin.reset()
    context = browser.new_context()
    page = _open_page(context, page_record)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.goto(example_stack.url)
    yield page
    context.close()


def _connect(page: Page) -> dict[str, Any]:
    """Clicks Connect and waits until the page says Connected; returns what /api/session minted."""
    expect(page.get_by_role("status")).to_have_text("Not connected")
    with page.expect_response(lambda r: r.url.endswith("/api/session")) as minted:
        page.get_by_role("button", name="Connect").click()
    assert minted.value.status == 200
    expect(page.get_by_role("status")).to_have_text("Connected", timeout=STATE_TIMEOUT_MS)
    return minted.value.json()  # type: ignore[no-any-return]


def _spoken_reply(standin: Standin) -> str:
    """The transcript of the stand-in's first spoken answer, once it has said it all."""
    done = eventually(
        lambda: [
            event
            for call in standin.calls()
            for event in call["server_events"]
            if event["type"] == "response.output_audio_transcript.done"
        ],
        bool,
        "the stand-in to finish a spoken reply",
    )
    return str(done[0]["transcript"])


def test_connects_and_shows_the_spoken_reply(
    example_page: Page, example_stack: ExampleStack, page_record: PageRecord
) -> None:
    # Given the example page; when the user presses Connect
    minted = _connect(example_page)

    # Then the fake microphone's beep is heard and the assistant's spoken reply appears, word for word,
    # with the model the service reports running, which is the one our server minted
    said = _spoken_reply(example_stack.standin)
    assistant = example_page.locator("#transcript li[data-role='assistant'][data-final='true']").first
    expect(assistant).to_have_text(said, timeout=STATE_TIMEOUT_MS)
    expect(example_page.locator("#model")).to_have_text(minted["session"]["model"])
    expect(example_page.get_by_role("button", name="Disconnect")).to_be_visible()
    expect(example_page.get_by_role("alert")).to_be_hidden()  # the service refused nothing the SDK sent
    # The client secret is a credential: it is used, never shown
    assert minted["value"] not in example_page.locator("body").inner_text()
    assert page_record.console_errors == []


def test_the_call_runs_the_session_the_server_minted(example_page: Page, example_stack: ExampleStack) -> None:
    # Given a connected example page, once the SDK's own session.update has been answered
    secret = _connect(example_page)
    _spoken_reply(example_stack.standin)
    [call] = example_stack.standin.calls()

    # Then the call was opened with the minted client secret (the stand-in keeps a sha256 prefix)
    assert call["ek_sha256"], "the call was not opened with a client secret"
    assert hashlib.sha256(secret["value"].encode()).hexdigest().startswith(call["ek_sha256"])
    # and the SDK restated the server's choices instead of replacing them with its defaults
    minted, running = secret["session"], call["session"]
    assert minted["model"] == MINTED["REALTIME_MODEL"]
    assert running["model"] == minted["model"]
    assert running["instructions"] == minted["instructions"]
    assert running["audio"]["output"]["voice"] == minted["audio"]["output"]["voice"]
    assert (
        running["audio"]["input"]["turn_detection"]["type"]
        == minted["audio"]["input"]["turn_detection"]["type"]
    )
    assert running["tracing"] == minted["tracing"]
    # and the service accepted everything the SDK sent, as OpenAI would
    updates = [event for event in call["client_events"] if event.get("type") == "session.update"]
    assert updates, "the SDK sent no session.update"
    assert [event for event in call["client_events"] if event.get("invalid")] == []
    errors = [event["error"] for event in call["server_events"] if event["type"] == "error"]
    assert errors == []
    for event in call["server_events"]:
        validate_server_event(event)  # each one a GA server event as OpenAI's SDK types it


def test_runs_under_the_production_csp_without_violations(
    example_page: Page, example_stack: ExampleStack, page_record: PageRecord
) -> None:
    # Given the example page, served with exactly the product page's security headers
    served = example_page.request.get(example_stack.url)
    product = example_page.request.get(example_stack.page_url)
    csp = served.headers["content-security-policy"]
    assert csp == product.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "unsafe-eval" not in csp

    # When the user has a whole turn with the assistant
    _connect(example_page)
    said = _spoken_reply(example_stack.standin)
    expect(example_page.locator("#transcript li[data-role='assistant']").first).to_have_text(
        said, timeout=STATE_TIMEOUT_MS
    )

    # Then the policy refused nothing: no eval, no inline code, no request to another origin
    assert example_page.evaluate("() => window.__cspViolations") == []
    assert page_record.console_errors == []
