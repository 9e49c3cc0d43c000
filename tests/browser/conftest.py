"""Real-browser fixtures: one local stack per session, a fresh page per test, and the checks every
test gets for free (no console errors, no API key anywhere the page can see).

Chromium is Debian's (never `playwright install`), headless, with fake media devices. Each flag
carries its reason.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    sync_playwright,
)

from local.openai_standin import validate_server_event
from local.stack import StackProcess

VENDOR = Path(__file__).resolve().parent / "vendor"
API_KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{8,}")

CHROMIUM_ARGS = [
    "--use-fake-ui-for-media-stream",  # answer the microphone prompt with "allow", as a user would
    "--use-fake-device-for-media-stream",  # a synthetic microphone that beeps: speech for the stand-in
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",  # no GPU on CI; avoids noisy GPU-process fallbacks
    "--disable-background-networking",  # no update/metrics traffic: the network is registry-only
    "--disable-component-update",  # same: components would be fetched from Google
    "--disable-sync",  # no account sync attempts
    "--allow-loopback-in-peer-connection",  # gather 127.0.0.1 candidates: the stand-in is on loopback
]
# The same browser without an automatic "allow": the permission request is denied.
CHROMIUM_ARGS_NO_MIC_PERMISSION = [arg for arg in CHROMIUM_ARGS if arg != "--use-fake-ui-for-media-stream"]


def _http(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - loopback URLs of our own stack
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        raw = response.read()
    return json.loads(raw) if raw else None


@dataclass
class Standin:
    """The stand-in's control API (`/__standin/*`)."""

    url: str

    def state(self) -> dict[str, Any]:
        return _http("GET", f"{self.url}/__standin/state")  # type: ignore[no-any-return]

    def patch(self, **options: Any) -> None:
        _http("PATCH", f"{self.url}/__standin/options", options)

    def drop(self) -> None:
        _http("POST", f"{self.url}/__standin/drop", {})

    def reset(self) -> None:
        _http("POST", f"{self.url}/__standin/reset", {})

    def calls(self) -> list[dict[str, Any]]:
        return list(self.state().get("calls", []))


@dataclass
class Stack:
    """The running local stack and its fault switches.

    `url` is the page behind the CloudFront stand-in; `execute_api` the API Gateway endpoint without it.
    """

    url: str
    standin: Standin
    execute_api: str = ""
    ready: dict[str, Any] = field(default_factory=dict)

    def faults(self, **patch: Any) -> None:
        _http("POST", f"{self.url}__local/faults", patch)

    def kill_switch(self) -> dict[str, Any]:
        """The operator function's end_all_calls, as `aws lambda invoke` runs it deployed."""
        return _http("POST", self.ready["operator_url"], {"action": "end_all_calls"})  # type: ignore[no-any-return]

    def set_paused(self, paused: bool) -> None:
        """Flips the pause switch (the SSM parameter the function reads, at most 5 s stale)."""
        import boto3  # only the tests that pause need it, and its import takes a while

        ssm = boto3.client(
            "ssm",
            endpoint_url=self.ready["aws_endpoint"],
            region_name=self.ready["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # moto's fake credentials
        )
        ssm.put_parameter(
            Name=self.ready["pause_parameter"], Value=str(paused).lower(), Type="String", Overwrite=True
        )


@contextmanager
def running_stack(**limits: Any) -> Iterator[Stack]:
    """A local stack with these StackProcess keywords, on the stand-in."""
    # The suite mints hundreds of times from one address in one window: limits no test here is about
    # (tests/localstack starts stacks with small ones).
    limits = {"quota_per_visitor": 10_000, "daily_cap": 1_000_000, **limits}
    with StackProcess("--port", "0", env=_stack_env(), **limits) as process:
        assert process.standin_url, "the browser suite runs against the stand-in"
        yield Stack(
            url=process.url,
            standin=Standin(process.standin_url),
            execute_api=process.execute_api,
            ready=process.ready,
        )


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with running_stack() as running:
        yield running


# Relayed calls (tests/browser/test_relay.py): one visitor (every page is 127.0.0.1) with one call at a
# time, and call-minutes no test spends unless it is about them.
RELAY_LIMITS: dict[str, Any] = {
    "mode": "relay",
    "concurrent_calls": 1,
    "call_minutes_per_visitor": 1440,
    "call_minutes_per_day": 1_000_000,
}


@pytest.fixture(scope="session")
def relay_stack() -> Iterator[Stack]:
    """Relay mode with calls long enough that no test meets their cap."""
    with running_stack(**RELAY_LIMITS, max_call_seconds=600) as running:
        yield running


@pytest.fixture(scope="session")
def short_call_stack() -> Iterator[Stack]:
    """Relay mode with 10-second calls (the shortest the function allows): the scheduled hangup comes
    within a test."""
    with running_stack(**RELAY_LIMITS, max_call_seconds=10) as running:
        yield running


@pytest.fixture(scope="session")
def spent_budget_stack() -> Iterator[Stack]:
    """Relay mode where a visitor's minute a day holds one 35-second call but not a second."""
    limits = {**RELAY_LIMITS, "call_minutes_per_visitor": 1}
    with running_stack(**limits, max_call_seconds=35) as running:
        yield running


# The stacks whose fixtures reset the stand-in before each test that uses them.
STACK_FIXTURES = ("stack", "relay_stack", "short_call_stack", "spent_budget_stack")


def _stack_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.pop("OPENAI_API_KEY", None)  # the suite never talks to OpenAI
    return env


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium is not installed (scripts/bootstrap --browser)")
    return path


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def browser_without_mic_permission(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS_NO_MIC_PERMISSION)
    yield browser
    browser.close()


@dataclass
class PageRecord:
    """What the page did that a test may want to assert on afterwards."""

    console_errors: list[str] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    allowed_console_errors: list[re.Pattern[str]] = field(default_factory=list)

    def allow_console_error(self, pattern: str) -> None:
        """Tolerate an expected console error, e.g. Chromium's note about a deliberate 429."""
        self.allowed_console_errors.append(re.compile(pattern))

    def unexpected_console_errors(self) -> list[str]:
        return [e for e in self.console_errors if not any(p.search(e) for p in self.allowed_console_errors)]


@pytest.fixture
def page_record() -> PageRecord:
    return PageRecord()


@pytest.fixture(autouse=True)
def _fresh_stand_in(request: pytest.FixtureRequest) -> Iterator[None]:
    name = next((name for name in STACK_FIXTURES if name in request.fixturenames), None)
    if name is None:
        yield
        return
    current: Stack = request.getfixturevalue(name)
    current.standin.reset()
    # reset ends calls but keeps options: put back every knob a test may have turned
    current.standin.patch(
        calls_status=None,
        session_max_seconds=3600.0,
        calls_delay_ms=0,
        client_secrets_delay_ms=0,
        media_delay_ms=0,
        mic_turns=True,
    )
    current.faults(reset=True, api_latency_ms=0)
    yield
    # Every event the page received in this test is a GA server event as the official SDK types it.
    events = [event for call in current.standin.calls() for event in call["server_events"]]
    for event in events:
        validate_server_event(event)


def _open_page(context: BrowserContext, record: PageRecord) -> Page:
    page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            # Where it was logged, too: a page the test navigated to (a sign-in page) is not ours.
            where = message.location.get("url", "")
            record.console_errors.append(f"{message.text} (at {where})" if where else message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: record.console_errors.append(f"uncaught: {error}"))
    page.on("response", lambda response: record.responses.append(response))  # noqa: PLW0108 - a bound
    # builtin method cannot carry the attribute Playwright sets on handlers
    return page


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext, page_record: PageRecord, stack: Stack) -> Iterator[Page]:
    page = _open_page(context, page_record)
    page.goto(f"{stack.url}?debug")
    yield page
    errors = page_record.unexpected_console_errors()
    assert errors == [], f"the page logged errors: {errors}"


@pytest.fixture
def open_page(browser: Browser, page_record: PageRecord) -> Iterator[Callable[..., Page]]:
    """Opens the page of a given stack, in a context of its own unless one is given (a second visitor
    tab, say); every page it opened is checked for console errors at the end."""
    contexts: list[BrowserContext] = []

    def opener(stack: Stack, query: str = "debug", context: BrowserContext | None = None) -> Page:
        if context is None:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            contexts.append(context)
        page = _open_page(context, page_record)
        page.goto(f"{stack.url}?{query}")
        return page

    yield opener
    errors = page_record.unexpected_console_errors()
    for context in contexts:
        context.close()
    assert errors == [], f"the page logged errors: {errors}"


@pytest.fixture
def denied_page(
    browser_without_mic_permission: Browser, page_record: PageRecord, stack: Stack
) -> Iterator[Page]:
    context = browser_without_mic_permission.new_context()
    page = _open_page(context, page_record)
    page.goto(f"{stack.url}?debug")
    yield page
    errors = page_record.unexpected_console_errors()
    context.close()
    assert errors == [], f"the page logged errors: {errors}"


@pytest.fixture(scope="session")
def axe_source() -> str:
    return (VENDOR / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
