"""What the page shows of the server's companion (issue 18): the assistant's tool calls as lines in the
transcript, the assistant hanging up, the spend cap's refusal in the visitor's own clock, and the cap's
end told apart from a drop.

The first tests feed the page's own modules, or its data channel, with the events the companion's
calls produce; the page alone decides what they show. The last ones run the real local stack with the
companion (`--tools`, `--call-dollars-per-visitor`): the stand-in's responder calls the tools, the
companion runs them and hangs up.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from local.openai_standin import validate_server_event
from local.stack import StackProcess
from tests.browser.conftest import RELAY_LIMITS, PageRecord, Stack, Standin, _open_page, _stack_env
from tests.browser.helpers import (
    RECONNECT_TIMEOUT_MS,
    STATE_TIMEOUT_MS,
    connect,
    eventually,
    record_states,
    status,
    wait_for_states,
)

pytestmark = pytest.mark.browser

OpenPage = Callable[..., Page]

# Before any of the page's code runs: keeps the page's `oai-events` channels (so a test can deliver a
# server event on them as the network would) and the type of every client event the page sends.
CHANNEL_TAP = """(() => {
  window.__eventChannels = [];
  window.__sentTypes = [];
  const create = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (...args) {
    const channel = create.apply(this, args);
    window.__eventChannels.push(channel);
    return channel;
  };
  const send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (data) {
    try { window.__sentTypes.push(JSON.parse(data).type); } catch { window.__sentTypes.push(null); }
    return send.call(this, data);
  };
})()"""

# Delivers server events on the open channel of the current session, as its data channel would.
DELIVER = """(events) => {
  const channel = window.__eventChannels.filter((c) => c.readyState === 'open').at(-1);
  if (!channel) throw new Error('no open event channel');
  for (const event of events) {
    channel.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(event) }));
  }
}"""

# Feeds server events to the page's conversation, as the call does with every event it receives.
APPLY = """(events) => {
  for (const event of events) window.__realtimeVendDebug.conversation.applyServerEvent(event);
}"""

SPEND_CAP_BODY = {
    "error": {
        "code": "spend_cap_reached",
        "message": "This service has spent today's budget for calls. It takes calls again at 00:00 UTC.",
    }
}


def _function_call(item_id: str, name: str, arguments: str, *, done: bool) -> dict[str, Any]:
    status_ = "completed" if done else "in_progress"
    return {
        "type": f"response.output_item.{'done' if done else 'added'}",
        "event_id": f"event_{item_id}_{status_}",
        "response_id": "resp_1",
        "output_index": 0,
        "item": {
            "id": item_id,
            "object": "realtime.item",
            "type": "function_call",
            "status": status_,
            "name": name,
            "call_id": f"call_{item_id}",
            "arguments": arguments if done else "",
        },
    }


def _tool_call_events(item_id: str, name: str, arguments: str) -> list[dict[str, Any]]:
    """A function call's events as the data channel carries them (GA shapes)."""
    return [
        _function_call(item_id, name, "", done=False),
        {
            "type": "response.function_call_arguments.delta",
            "event_id": f"event_{item_id}_delta",
            "response_id": "resp_1",
            "item_id": item_id,
            "output_index": 0,
            "call_id": f"call_{item_id}",
            "delta": arguments,
        },
        {
            "type": "response.function_call_arguments.done",
            "event_id": f"event_{item_id}_args",
            "response_id": "resp_1",
            "item_id": item_id,
            "output_index": 0,
            "call_id": f"call_{item_id}",
            "name": name,
            "arguments": arguments,
        },
        _function_call(item_id, name, arguments, done=True),
    ]


def _tool_output(item_id: str, call_item_id: str, output: str) -> dict[str, Any]:
    """The companion's answer as the session announces it to every listener, the page included."""
    return {
        "type": "conversation.item.added",
        "event_id": f"event_{item_id}",
        "previous_item_id": call_item_id,
        "item": {
            "id": item_id,
            "object": "realtime.item",
            "type": "function_call_output",
            "call_id": f"call_{call_item_id}",
            "output": output,
        },
    }


def _said(item_id: str, role: str, text: str) -> dict[str, Any]:
    if role == "user":
        return {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": item_id,
            "content_index": 0,
            "transcript": text,
        }
    return {
        "type": "response.output_audio_transcript.done",
        "item_id": item_id,
        "response_id": "resp_2",
        "output_index": 0,
        "content_index": 0,
        "transcript": text,
    }


def _spend_cap_sentence(*clocks: str) -> re.Pattern[str]:
    """The page's sentence for the spend cap, with the clock time as this browser writes it (any of
    `clocks`: a refusal read between two of them may round to either)."""
    times = "|".join(re.escape(clock) for clock in clocks)
    return re.compile(
        r"^Today's spending limit for voice calls is reached\. "
        rf"You can call again after (?:{times})( tomorrow)?\.$"
    )


def _transcript_lines(page: Page) -> Any:
    return page.locator("#turns > li:not([hidden]) .turn__text")


# --- the page's own modules ----------------------------------------------------------------------


def test_each_tool_call_is_one_line_in_order_and_never_its_arguments_or_output(page: Page) -> None:
    # Given a conversation in which the assistant calls the stack's two tools and one it does not
    # know (whose name looks like markup), with arguments and outputs a visitor must not see
    events = [
        _said("item_u1", "user", "What time is it in Zürich?"),
        *_tool_call_events("item_fc1", "get_current_time", '{"timezone": "Europe/Zurich-ARG"}'),
        _tool_output("item_out1", "item_fc1", '{"time": "14:05-OUTPUT"}'),
        _said("item_a1", "assistant", "It is five past two."),
        *_tool_call_events("item_fc2", "<b>lookup</b>", '{"q": "secret-ARG"}'),
        _tool_output("item_out2", "item_fc2", "secret-OUTPUT"),
        _said("item_u2", "user", "Goodbye!"),
        *_tool_call_events("item_fc3", "end_call", "{}"),
        _said("item_a2", "assistant", "Goodbye, have a nice day."),
    ]
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()

    # When the page's conversation receives them
    page.evaluate(APPLY, events)

    # Then each call is one line, where it happened, in words (an unknown tool by its name, as text)
    expect(_transcript_lines(page)).to_have_text(
        [
            "What time is it in Zürich?",
            "Checked the time",
            "It is five past two.",
            "Used <b>lookup</b>",
            "Goodbye!",
            "Ended the call",
            "Goodbye, have a nice day.",
        ]
    )
    expect(page.locator("#turns .turn--tool")).to_have_count(3)
    assert page.locator("#turns b").count() == 0
    # and nothing of what the tools were given or returned is on the page
    transcript = page.locator("#transcript").inner_text()
    assert "ARG" not in transcript
    assert "OUTPUT" not in transcript
    # nor in what a new session replays or a sign-in carries: the tool lines are for reading only
    turns = page.evaluate("() => window.__realtimeVendDebug.conversation.turns()")
    assert turns == [
        {"role": "user", "text": "What time is it in Zürich?"},
        {"role": "assistant", "text": "It is five past two."},
        {"role": "user", "text": "Goodbye!"},
        {"role": "assistant", "text": "Goodbye, have a nice day."},
    ]
    replayed = page.evaluate("() => window.__realtimeVendDebug.conversation.replayEvents()")
    assert [event["item"]["type"] for event in replayed] == ["message"] * 4


def test_a_tool_line_waiting_for_its_words_is_dropped_with_a_new_conversation(page: Page) -> None:
    # Given a tool call the page has just seen (its line's wording loads on first use)
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()

    # When the conversation is cleared in the same task (a new call started)
    page.evaluate(
        """(events) => {
            const { conversation } = window.__realtimeVendDebug;
            for (const event of events) conversation.applyServerEvent(event);
            conversation.clear();
        }""",
        _tool_call_events("item_fc", "get_current_time", "{}"),
    )

    # Then the line does not come back into the new conversation
    # (the wording has loaded, and a frame has been drawn since)
    page.wait_for_function(
        """() => import('./js/tool-activity.js').then(() => new Promise((drawn) => {
            requestAnimationFrame(() => requestAnimationFrame(() => drawn(true)));
        }))"""
    )
    expect(page.locator("#turns > li")).to_have_count(0)
    expect(page.locator("#transcript-empty")).to_be_visible()


# The refusal as errorFromApiResponse reads it, with a Retry-After of the seconds to the next UTC
# midnight as the server counts them (rounded up, or down), and that midnight on this browser's clock.
SPEND_CAP_REFUSAL = """async ({ body, round }) => {
  const { errorFromApiResponse } = await import('./js/call/client-secret.js');
  const now = Date.now();
  const midnight = new Date(now);
  midnight.setUTCHours(24, 0, 0, 0);
  const seconds = Math[round]((midnight.getTime() - now) / 1000);
  const response = new Response(JSON.stringify(body), {
    status: 429,
    headers: { 'Content-Type': 'application/json', 'Retry-After': String(seconds) },
  });
  const error = await errorFromApiResponse(response);
  return {
    message: error.message,
    code: error.code,
    retryable: error.retryable,
    retryAt: error.retryAt?.getTime() ?? null,
    midnight: midnight.getTime(),
    nextDay: midnight.toDateString() !== new Date().toDateString(),
  };
}"""


@pytest.mark.parametrize(
    ("timezone", "local_midnight"),
    [("Asia/Kolkata", "05:30"), ("Etc/GMT+8", "16:00"), ("UTC", "00:00")],  # (Etc/GMT+8 is UTC-8)
)
@pytest.mark.parametrize("round_", ["ceil", "floor"])
def test_the_spend_cap_says_when_calls_come_back_on_the_visitors_clock(
    browser: Browser, page_record: PageRecord, stack: Stack, timezone: str, local_midnight: str, round_: str
) -> None:
    # Given a visitor whose clock is in this time zone, and who reads times as 24-hour clock times
    context = browser.new_context(timezone_id=timezone, locale="en-GB")
    try:
        page = _open_page(context, page_record)
        page.goto(f"{stack.url}?debug")
        expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()

        # When the API refuses a call with the spend cap
        refusal = page.evaluate(SPEND_CAP_REFUSAL, {"body": SPEND_CAP_BODY, "round": round_})

        # Then the page says why, and the UTC midnight as the visitor's clock shows it, to the minute
        tomorrow = " tomorrow" if refusal["nextDay"] else ""
        assert refusal["message"] == (
            "Today's spending limit for voice calls is reached. "
            f"You can call again after {local_midnight}{tomorrow}."
        )
        # and it is final: nothing retries it before then (the moment, unrounded, keeps Connect off)
        assert refusal["code"] == "spend_cap_reached"
        assert refusal["retryable"] is False
        assert abs(refusal["retryAt"] - refusal["midnight"]) < 2000  # whole seconds, read a moment later
    finally:
        context.close()
    assert page_record.unexpected_console_errors() == []


# --- the page on a relayed call, with the companion's events delivered on its channel ------------


@pytest.fixture
def tapped_context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(CHANNEL_TAP)
    yield context
    context.close()


def _posts(page: Page) -> list[Request]:
    seen: list[Request] = []

    def keep(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/api/call"):
            seen.append(request)

    page.on("request", keep)
    return seen


def test_the_assistants_hang_up_ends_the_call_without_reconnecting(
    open_page: OpenPage, relay_stack: Stack, tapped_context: BrowserContext
) -> None:
    # Given a relayed call in which the assistant has just called end_call
    page = open_page(relay_stack, context=tapped_context)
    posts = _posts(page)
    connect(page)
    record_states(page)
    page.evaluate(DELIVER, _tool_call_events("item_bye", "end_call", "{}"))
    expect(page.locator("#turns .turn--tool")).to_have_text("Ended the call")
    expect(status(page)).to_have_text("Connected")

    # When the server hangs the call up after the goodbye
    assert relay_stack.kill_switch() == {"ended": 1}

    # Then the call is over, calmly said, and no new call is opened
    expect(status(page)).to_have_text("The assistant ended the call.", timeout=STATE_TIMEOUT_MS)
    expect(page.locator("#status-hint")).to_have_text("Press Connect to start a new conversation.")
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()
    page.wait_for_timeout(2000)
    assert page.evaluate("() => window.__callStates") == ["closed"]
    assert len(posts) == 1
    assert len(relay_stack.standin.calls()) == 1
    # and the page never answered the tool itself
    assert "function_call_output" not in json.dumps(page.evaluate("() => window.__sentTypes"))


def test_a_dropped_call_without_end_call_still_reconnects(
    open_page: OpenPage, relay_stack: Stack, tapped_context: BrowserContext
) -> None:
    # Given a relayed call in which the assistant only checked the time
    page = open_page(relay_stack, context=tapped_context)
    connect(page)
    record_states(page)
    page.evaluate(DELIVER, _tool_call_events("item_time", "get_current_time", "{}"))
    expect(page.locator("#turns .turn--tool")).to_have_text("Checked the time")

    # When the call drops
    relay_stack.standin.drop()

    # Then it comes back as before: only end_call means the assistant hung up
    wait_for_states(page, "reconnecting", "connected")
    page.get_by_role("button", name="Disconnect").click()
    expect(status(page)).to_have_text("Disconnected")


def _refuse_calls_with_the_spend_cap(page: Page, retry_after: int) -> list[int]:
    hits: list[int] = []

    def refuse(route: Route) -> None:
        hits.append(1)
        route.fulfill(
            status=429,
            headers={
                "Content-Type": "application/json",
                "Cache-Control": "no-store",
                "Retry-After": str(retry_after),
            },
            body=json.dumps(SPEND_CAP_BODY),
        )

    page.route("**/api/call", refuse)
    return hits


def test_a_call_ended_at_the_spend_cap_stops_at_the_refusal_of_its_reconnect(
    open_page: OpenPage, relay_stack: Stack, page_record: PageRecord
) -> None:
    # Given a live relayed call, and a server that has just spent the visitor's budget: it hangs the
    # call up, and refuses the next one until the day rolls over
    page_record.allow_console_error(r"status of 429")
    page = open_page(relay_stack)
    connect(page)
    record_states(page)
    hits = _refuse_calls_with_the_spend_cap(page, retry_after=3 * 3600)
    in_three_hours = (
        "() => new Date(Math.round((Date.now() + 3 * 3600 * 1000) / 60000) * 60000)"
        ".toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'})"
    )
    clock_before = page.evaluate(in_three_hours)

    # When the server hangs the call up
    assert relay_stack.kill_switch() == {"ended": 1}

    # Then the page asks once for a new call, is refused, and stops there saying why and when (the
    # refusal comes between the two readings, so its clock rounds to one of them)
    wait_for_states(page, "reconnecting", "closed")
    clock_after = page.evaluate(in_three_hours)
    expect(page.get_by_role("alert")).to_have_text(_spend_cap_sentence(clock_before, clock_after))
    expect(status(page)).to_have_text("Disconnected")
    expect(page.locator("#status-hint")).to_have_text("")
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_disabled()
    page.wait_for_timeout(3000)
    assert hits == [1], "the page asked again after the spend cap"
    assert page.evaluate("() => window.__callStates") == ["reconnecting", "closed"]
    page.wait_for_function("() => window.__realtimeVendDebug.microphone.stream === null")


# --- the cap's end, told apart from a drop --------------------------------------------------------


def _end_calls_in(page: Page, seconds: int) -> None:
    """The API's answers say the call ends `seconds` after the answer (the server's own hangup stays
    at its real cap, far later): the page's deadline, as the companion would keep it."""

    def shorten(route: Route) -> None:
        response = route.fetch()
        headers = dict(response.headers)
        if response.status == 201:
            served_at = time.time()
            server_now = headers.get("date")
            if server_now:
                from email.utils import parsedate_to_datetime

                served_at = parsedate_to_datetime(server_now).timestamp()
            headers["call-ends-at"] = str(int(served_at) + seconds)
        route.fulfill(response=response, headers=headers)

    page.route("**/api/call", shorten)


@pytest.mark.parametrize(
    ("hang_up_after_deadline_ms", "reason"),
    [(-1000, "rollover"), (3000, "rollover"), (-8000, "dropped")],
)
def test_a_hang_up_within_a_second_before_or_after_the_cap_is_the_cap(
    open_page: OpenPage, relay_stack: Stack, hang_up_after_deadline_ms: int, reason: str
) -> None:
    # Given a relayed call whose cap is 12 s away
    page = open_page(relay_stack)
    _end_calls_in(page, 12)
    connect(page)
    page.evaluate(
        """() => {
            window.__reasons = [];
            window.__realtimeVendDebug.call.addEventListener('statechange', ({ detail }) => {
                if (detail.state === 'reconnecting') window.__reasons.push(detail.reason);
            });
        }"""
    )
    deadline = page.evaluate("() => window.__realtimeVendDebug.call.deadline")

    # When the server hangs it up this long before or after the cap
    page.wait_for_function(f"() => Date.now() >= {deadline + hang_up_after_deadline_ms}", polling=20)
    assert relay_stack.kill_switch() == {"ended": 1}

    # Then the page tells the cap from a drop: at the cap it rolls over at once
    page.wait_for_function("() => window.__reasons.length > 0", timeout=RECONNECT_TIMEOUT_MS)
    assert page.evaluate("() => window.__reasons") == [reason]
    expect(status(page)).to_have_text("Connected", timeout=RECONNECT_TIMEOUT_MS)
    page.get_by_role("button", name="Disconnect").click()
    expect(status(page)).to_have_text("Disconnected")


# --- against the real local stack with the companion ---------------------------------------------


def _companion_stack(**limits: Any) -> Iterator[Stack]:
    """A relay stack whose vend function starts a companion for each call, with its two tools."""
    limits = {
        "quota_per_visitor": 10_000,
        "daily_cap": 1_000_000,
        **RELAY_LIMITS,
        "tools": "get_current_time,end_call",
        **limits,
    }
    with StackProcess("--port", "0", env=_stack_env(), **limits) as process:
        assert process.standin_url, "the browser suite runs against the stand-in"
        assert process.ready.get("companion") is True, "the stack runs no companion"
        yield Stack(
            url=process.url,
            standin=Standin(process.standin_url),
            execute_api=process.execute_api,
            ready=process.ready,
        )


@pytest.fixture
def companion_stack(relay_stack: Stack) -> Stack:
    """Calls long enough that none meets its cap: the suite's relay stack, whose companion runs the
    template's tools."""
    assert relay_stack.ready.get("companion") is True, "the stack runs no companion"
    return relay_stack


@pytest.fixture(scope="session")
def tiny_budget_stack() -> Iterator[Stack]:
    """A visitor's dollars a day that one call of a few turns spends: a cent, the least the setting
    takes (a few seconds of the assistant's audio at the default model)."""
    yield from _companion_stack(call_dollars_per_visitor="0.01", max_call_seconds=600)


@pytest.fixture
def companion_short_call_stack(short_call_stack: Stack) -> Stack:
    """The companion ends 10-second calls itself, within a second of Call-Ends-At."""
    assert short_call_stack.ready.get("companion") is True, "the stack runs no companion"
    return short_call_stack


@pytest.fixture
def fresh() -> Iterator[Callable[[Stack], Stack]]:
    """Resets a companion stack's stand-in for this test (typed turns only), and checks afterwards that
    every event the page received is a GA server event as openai-python types it."""
    used: list[Stack] = []

    def reset(stack: Stack) -> Stack:
        stack.standin.reset()
        stack.standin.patch(mic_turns=False)
        stack.faults(reset=True, api_latency_ms=0)
        used.append(stack)
        return stack

    yield reset
    for stack in used:
        for call in stack.standin.calls():
            for event in call["server_events"]:
                validate_server_event(event)


def _answered_by_the_companion_only(stack: Stack) -> list[str]:
    """The names of the tools the stand-in's model called, each checked to have been answered once,
    by the sideband (the companion) and never by the page's data channel."""
    names = []
    for call in stack.standin.calls():
        for entry in call["function_calls"].values():
            assert entry["output_sources"] == ["sideband"], entry
            names.append(entry["name"])
    return names


def _send(page: Page, text: str, *, timeout_ms: float | None = None) -> None:
    page.get_by_label("Message").fill(text, timeout=timeout_ms)
    page.get_by_role("button", name="Send").click(timeout=timeout_ms)


def test_a_typed_question_for_the_time_shows_that_the_assistant_checked_it(
    open_page: OpenPage,
    companion_stack: Stack,
    tapped_context: BrowserContext,
    fresh: Callable[[Stack], Stack],
) -> None:
    # Given a relayed call on a stack whose companion runs get_current_time
    fresh(companion_stack)
    page = open_page(companion_stack, context=tapped_context)
    connect(page)

    # When the visitor asks for the time
    _send(page, "What time is it?")

    # Then the transcript shows the question, that the assistant checked the time, and its answer,
    # in that order; the tool's output reached the model (its reply says a time)
    expect(page.locator("#turns .turn--tool")).to_have_text(["Checked the time"], timeout=STATE_TIMEOUT_MS)
    reply = page.locator("#turns .turn--tool ~ .turn--assistant[data-final='true'] .turn__text").first
    expect(reply).to_have_text(re.compile(r"\d{1,2}:\d{2}"), timeout=STATE_TIMEOUT_MS)
    texts = _transcript_lines(page).all_text_contents()
    assert texts[:2] == ["What time is it?", "Checked the time"]
    # and only the companion answered the tool: the page sent no output of its own
    assert "function_call_output" not in json.dumps(page.evaluate("() => window.__sentTypes"))
    assert _answered_by_the_companion_only(companion_stack) == ["get_current_time"]
    page.get_by_role("button", name="Disconnect").click()
    expect(status(page)).to_have_text("Disconnected")


def test_goodbye_lets_the_assistant_end_the_call(
    open_page: OpenPage,
    companion_stack: Stack,
    tapped_context: BrowserContext,
    fresh: Callable[[Stack], Stack],
) -> None:
    # Given a relayed call on a stack whose companion runs end_call
    fresh(companion_stack)
    page = open_page(companion_stack, context=tapped_context)
    posts = _posts(page)
    connect(page)
    record_states(page)

    # When the visitor says goodbye
    _send(page, "Thanks, goodbye!")

    # Then the assistant hangs up after its goodbye, and the page says so, calmly, without reconnecting
    expect(page.locator("#turns .turn--tool")).to_have_text(["Ended the call"], timeout=STATE_TIMEOUT_MS)
    expect(status(page)).to_have_text("The assistant ended the call.", timeout=RECONNECT_TIMEOUT_MS)
    expect(page.get_by_role("alert")).to_be_hidden()
    eventually(
        lambda: companion_stack.standin.calls()[0]["state"], lambda state: state == "closed", "the hangup"
    )
    page.wait_for_timeout(2000)
    assert page.evaluate("() => window.__callStates") == ["closed"]
    assert len(posts) == 1
    assert len(companion_stack.standin.calls()) == 1
    assert "function_call_output" not in json.dumps(page.evaluate("() => window.__sentTypes"))
    assert _answered_by_the_companion_only(companion_stack) == ["end_call"]


def test_over_the_spend_budget_the_call_is_cut_off_with_the_reason_and_not_retried(
    open_page: OpenPage, tiny_budget_stack: Stack, page_record: PageRecord, fresh: Callable[[Stack], Stack]
) -> None:
    # Given a visitor whose budget for the day a few turns of one call spend
    page_record.allow_console_error(r"status of 429")
    fresh(tiny_budget_stack)
    page = open_page(tiny_budget_stack)
    posts = _posts(page)
    connect(page)
    record_states(page)
    midnight = page.evaluate(
        """() => {
            const midnight = new Date();
            midnight.setUTCHours(24, 0, 0, 0);
            return midnight.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'});
        }"""
    )

    # When the visitor keeps talking until the companion's meter reaches the budget
    for turn in range(20):
        if page.evaluate("() => window.__realtimeVendDebug.call.state") != "connected":
            break
        try:
            _send(page, f"Tell me something interesting, number {turn}.", timeout_ms=5000)
        except PlaywrightTimeoutError:  # the companion cut the call off between the check and the send
            break
        page.wait_for_function(
            f"""() => document.querySelectorAll("#turns .turn--assistant[data-final='true']").length > {turn}
                || window.__realtimeVendDebug.call.state !== 'connected'""",
            timeout=STATE_TIMEOUT_MS,
        )

    # Then the call is cut off mid-call, the page says why and when (the next UTC midnight on the
    # visitor's clock), and it does not ask again after the 429 of its one reconnect
    wait_for_states(page, "reconnecting", "closed", timeout=RECONNECT_TIMEOUT_MS)
    expect(page.get_by_role("alert")).to_have_text(_spend_cap_sentence(midnight))
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_disabled()
    page.wait_for_timeout(3000)
    statuses = [post.response().status for post in posts]  # type: ignore[union-attr]
    assert statuses == [201, 429], statuses
    assert len(tiny_budget_stack.standin.calls()) == 1


def test_the_companions_cap_ends_the_call_within_a_second_of_the_countdown(
    open_page: OpenPage, companion_short_call_stack: Stack, fresh: Callable[[Stack], Stack]
) -> None:
    # Given a 10-second call on a stack whose companion ends calls at their cap
    fresh(companion_short_call_stack)
    page = open_page(companion_short_call_stack)
    connect(page)
    page.evaluate(
        """() => {
            window.__lost = [];
            window.__realtimeVendDebug.call.addEventListener('statechange', ({ detail }) => {
                if (detail.state !== 'reconnecting') return;
                window.__lost.push({ reason: detail.reason, at: Date.now() });
            });
        }"""
    )
    deadline = page.evaluate("() => window.__realtimeVendDebug.call.deadline")
    expect(page.locator("#call-countdown")).to_have_text(re.compile(r"^This call ends in 0:(0\d|10)$"))

    # When the companion hangs it up at its cap
    page.wait_for_function("() => window.__lost.length > 0", timeout=RECONNECT_TIMEOUT_MS)

    # Then the page sees the cap (a rollover, not a drop) within a second of its countdown's end
    lost = page.evaluate("() => window.__lost[0]")
    assert lost["reason"] == "rollover"
    assert abs(lost["at"] - deadline) <= 1000, f"ended {lost['at'] - deadline} ms after the countdown"
    expect(status(page)).to_have_text("Connected", timeout=RECONNECT_TIMEOUT_MS)
    page.get_by_role("button", name="Disconnect").click()
    expect(status(page)).to_have_text("Disconnected")
