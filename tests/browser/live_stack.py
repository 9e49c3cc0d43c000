"""A GPT-Live local stack for the browser tests (`scripts/local --voice-api live`), its stand-in's
GPT-Live sessions, and a tap on the page's data channel.

Each test module starts its own stack (module scope), as the suite does for its special stacks. After
every test the events the stand-in exchanged with the page's sessions are checked against
`openai.types.live` (tests/browser/live_events.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Browser, Page

from local.stack import StackProcess
from tests.browser.conftest import RELAY_LIMITS, PageRecord, Stack, Standin, _http, _open_page, _stack_env
from tests.browser.live_events import client_event, server_event

# Before any of the page's code runs: keeps the page's `oai-events` channels, so a test can send on
# the current one what the page itself never sends (a `session.update`).
CHANNEL_TAP = """(() => {
  window.__eventChannels = [];
  const create = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (...args) {
    const channel = create.apply(this, args);
    window.__eventChannels.push(channel);
    return channel;
  };
})()"""

SEND_ON_CHANNEL = """(event) => {
  const channel = window.__eventChannels.filter((c) => c.readyState === 'open').at(-1);
  channel.send(JSON.stringify(event));
}"""


class LiveStandin(Standin):
    """The stand-in's control API, with its GPT-Live sessions."""

    def sessions(self) -> list[dict[str, Any]]:
        return list(self.state().get("live_sessions", []))

    def reset_options(self) -> None:
        self.patch(mic_turns=True, mic_transcript=None)


@contextmanager
def live_stack(*flags: str, **limits: Any) -> Iterator[tuple[Stack, LiveStandin]]:
    """A stack whose relayed calls go to the stand-in's GPT-Live, with these scripts/local flags."""
    limits = {"quota_per_visitor": 10_000, "daily_cap": 1_000_000, **RELAY_LIMITS, **limits}
    with StackProcess("--port", "0", "--voice-api", "live", *flags, env=_stack_env(), **limits) as process:
        assert process.standin_url, "the browser suite runs against the stand-in"
        standin = LiveStandin(process.standin_url)
        yield (
            Stack(url=process.url, standin=standin, execute_api=process.execute_api, ready=process.ready),
            standin,
        )


def check_exchanged_events(standin: LiveStandin) -> None:
    """Every event of every GPT-Live session so far, both ways, is one GPT-Live has."""
    for session in standin.sessions():
        for event in session["server_events"]:
            server_event(event)
        for event in session["client_events"]:
            client_event(event)


def reset(standin: LiveStandin) -> None:
    _http("POST", f"{standin.url}/__standin/reset", {})
    standin.reset_options()


@contextmanager
def tapped_page(browser: Browser, page_record: PageRecord, stack: Stack) -> Iterator[Page]:
    """The page in a context of its own whose data channels the test can use, checked for console
    errors at the end."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(CHANNEL_TAP)
    try:
        page = _open_page(context, page_record)
        page.goto(f"{stack.url}?debug")
        yield page
        errors = page_record.unexpected_console_errors()
        assert errors == [], f"the page logged errors: {errors}"
    finally:
        context.close()


def newest(standin: LiveStandin, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    sessions = standin.sessions()
    return sessions[-1] if sessions and check(sessions[-1]) else None
