"""GPT-Live's protocol module in the page (web/js/live/live-protocol.js), fed events checked against
`openai.types.live`, and what it sends checked the same way; and the relayed call's JSON request that
carries the conversation into a new GPT-Live session (web/js/call/relay-negotiator.js).

The module runs in Chromium against a stand-in for one peer session: an object that records what is
sent and can report its channel closing, as PeerSession does.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, Route

from tests.browser.live_events import client_event, function_call_done, server_event, transcript

pytestmark = pytest.mark.browser

# A protocol, a conversation and a recorded session, on window for the steps of one test.
SET_UP = """async ({ typedText }) => {
  const { LiveProtocol } = await import('./js/live/live-protocol.js');
  const { Conversation } = await import('./js/conversation.js');
  class RecordedSession extends EventTarget {
    sent = [];
    closed = false;
    send(event) {
      if (this.closed) return false;
      // as EventChannel does: every client event gets an id the server can echo
      this.sent.push({ event_id: `evt_page_${this.sent.length + 1}`, ...event });
      return true;
    }
    close() { this.closed = true; }
  }
  const protocol = new LiveProtocol({ typedText, credentials: () => undefined });
  const conversation = new Conversation();
  const session = new RecordedSession();
  const seen = { standby: [], ended: [], endCalls: 0 };
  protocol.addEventListener('standby', (event) => seen.standby.push(event.detail.paused));
  protocol.addEventListener('sessionend', (event) => seen.ended.push(event.detail.reason));
  protocol.opened(session, conversation, false);
  window.__live = { protocol, conversation, session, seen, RecordedSession };
}"""

READ = """(events) => {
  const { protocol, conversation, seen } = window.__live;
  for (const event of events) if (protocol.read(event, conversation)) seen.endCalls += 1;
}"""

ENTRIES = """async () => {
  // tool lines are written once their wording module has loaded
  await import('./js/tool-activity.js');
  await new Promise((resolve) => setTimeout(resolve, 0));
  return window.__live.conversation.entries.map(({ role, text, final }) => ({ role, text, final }));
}"""


def _set_up(page: Page, *, typed_text: bool = True) -> None:
    page.evaluate(SET_UP, {"typedText": typed_text})


def _read(page: Page, events: list[dict[str, Any]]) -> None:
    for event in events:
        server_event(event)
    page.evaluate(READ, events)


def _sent(page: Page) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = page.evaluate("() => window.__live.session.sent")
    for event in sent:
        client_event(event)
    return sent


def _seen(page: Page) -> dict[str, Any]:
    seen: dict[str, Any] = page.evaluate("() => window.__live.seen")
    return seen


def test_transcript_deltas_become_the_conversations_turns(page: Page) -> None:
    # Given a live session
    _set_up(page)
    # When both speakers' deltas arrive, then the call ends
    _read(
        page,
        [
            transcript("user", "e1", "What's the", 1000, 1300),
            transcript("user", "e2", " time?", 1300, 1600),
            transcript("assistant", "e3", "It's noon", 2400, 2900),
            transcript("assistant", "e4", " here.", 2900, 3300),
        ],
    )
    page.evaluate("() => window.__live.protocol.end(null, async () => true)")
    # Then the conversation holds one turn per speaker, final once the call ended
    entries = page.evaluate(ENTRIES)
    assert entries == [
        {"role": "user", "text": "What's the time?", "final": True},
        {"role": "assistant", "text": "It's noon here.", "final": True},
    ]
    # And they are what a next call would carry, oldest first
    carried = page.evaluate("() => window.__live.protocol.carried(window.__live.conversation)")
    assert carried == [
        {"role": "user", "text": "What's the time?"},
        {"role": "assistant", "text": "It's noon here."},
    ]


def test_the_backends_function_calls_are_tool_lines_and_end_call_is_recognised(page: Page) -> None:
    _set_up(page)
    _read(page, [function_call_done("get_current_time", "call_1", "fc_1", "e1")])
    assert _seen(page)["endCalls"] == 0
    _read(page, [function_call_done("end_call", "call_2", "fc_2", "e2")])
    assert _seen(page)["endCalls"] == 1
    entries = page.evaluate(ENTRIES)
    lines = [(e["role"], e["text"]) for e in entries]
    assert lines == [("tool", "Checked the time"), ("tool", "Ended the call")]
    # Tool lines are for reading: a next call does not carry them
    assert page.evaluate("() => window.__live.protocol.carried(window.__live.conversation)") == []


def test_typed_text_goes_to_the_backend_as_a_user_message_then_a_response(page: Page) -> None:
    _set_up(page, typed_text=True)
    page.evaluate(
        """() => {
          const { protocol, session } = window.__live;
          for (const event of protocol.textEvents('Book a table')) session.send(event);
        }"""
    )
    sent = _sent(page)
    assert [e["type"] for e in sent] == ["response.item.create", "response.create"]
    assert sent[0]["item"] == {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "Book a table"}],
    }


def test_with_typed_text_off_nothing_is_sent(page: Page) -> None:
    _set_up(page, typed_text=False)
    assert page.evaluate("() => window.__live.protocol.textEvents('Hello')") == []


def test_mute_is_told_to_the_model_and_again_to_a_new_session(page: Page) -> None:
    _set_up(page)
    page.evaluate("() => window.__live.protocol.muted(window.__live.session, true)")
    page.evaluate("() => window.__live.protocol.muted(window.__live.session, false)")
    page.evaluate("() => window.__live.protocol.muted(window.__live.session, true)")
    assert [e["type"] for e in _sent(page)] == [
        "session.input_audio.mute",
        "session.input_audio.unmute",
        "session.input_audio.mute",
    ]
    # A new session starts unmuted at GPT-Live: the page tells it at once
    page.evaluate(
        """() => {
          const { protocol, conversation, RecordedSession } = window.__live;
          window.__live.session = new RecordedSession();
          protocol.opened(window.__live.session, conversation, true);
        }"""
    )
    assert [e["type"] for e in _sent(page)] == ["session.input_audio.mute"]


def test_standby_is_reported_when_paused_and_when_woken(page: Page) -> None:
    _set_up(page)
    _read(page, [{"type": "session.paused", "event_id": "e1"}, {"type": "session.resumed", "event_id": "e2"}])
    # (opened() says "not paused" first: a new session is awake)
    assert _seen(page)["standby"] == [False, True, False]


def test_an_info_event_is_logged_to_the_console_only(page: Page) -> None:
    _set_up(page)
    logged: list[ConsoleMessage] = []
    page.on("console", lambda message: logged.append(message))  # noqa: PLW0108 - Playwright tags handlers
    info = {
        "type": "info",
        "event_id": "e1",
        "code": "data_channel_permissions",
        "message": "Client event session.update is not allowed on this data channel.",
        "client_event_id": "evt_page_9",
    }
    _read(page, [info])
    page.wait_for_function("() => true")  # the console message has been delivered
    assert [(m.type, m.text) for m in logged] == [
        ("info", "GPT-Live: data_channel_permissions: " + info["message"])
    ]
    assert page.evaluate(ENTRIES) == []


def test_hanging_up_sends_session_close_and_waits_for_the_channel_before_the_delete(page: Page) -> None:
    _set_up(page)
    page.evaluate(
        """() => {
          window.__live.hungUpAt = null;
          window.__live.protocol.end(window.__live.session, async () => {
            window.__live.hungUpAt = { closed: window.__live.session.closed };
            return true;
          });
        }"""
    )
    assert [e["type"] for e in _sent(page)] == ["session.close"]
    assert page.evaluate("() => window.__live.hungUpAt") is None
    # When GPT-Live closes the channel (the session reports it lost)
    page.evaluate("() => window.__live.session.dispatchEvent(new CustomEvent('lost', { detail: {} }))")
    # Then the session is closed, then the call DELETEd
    page.wait_for_function("() => window.__live.hungUpAt !== null")
    assert page.evaluate("() => window.__live.hungUpAt") == {"closed": True}


def test_a_hang_up_does_not_wait_more_than_two_seconds_for_the_channel(page: Page) -> None:
    _set_up(page)
    waited = page.evaluate(
        """() => new Promise((resolve) => {
          const started = performance.now();
          window.__live.protocol.end(window.__live.session, async () => {
            resolve(performance.now() - started);
            return true;
          });
        })"""
    )
    assert 1900 <= waited < 4000


def test_a_closing_tab_hangs_up_at_once(page: Page) -> None:
    _set_up(page)
    hung_up = page.evaluate(
        """() => {
          window.dispatchEvent(new PageTransitionEvent('pagehide'));
          let hungUp = false;
          window.__live.protocol.end(window.__live.session, async () => { hungUp = true; return true; });
          return hungUp && window.__live.session.closed;
        }"""
    )
    assert hung_up is True


def test_why_a_session_ended_is_asked_of_our_api_until_it_knows(page: Page) -> None:
    # Given our API that still has the call live at first, then ended at OpenAI's limit
    answers = [{"status": "live", "reason": None}, {"status": "ended", "reason": "expired"}]
    asked: list[str] = []

    def answer(route: Route) -> None:
        asked.append(route.request.method)
        body = answers[min(len(asked) - 1, len(answers) - 1)]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/api/call/call_0123", answer)
    _set_up(page)
    # When GPT-Live closed the channel, and the page asks why the session ended
    reason = page.evaluate(
        """() => window.__live.protocol.lostReason(
          { url: new URL('api/call/call_0123', location.href).href, deadline: 0 },
          { code: 'channel_closed' })"""
    )
    # Then it has the reason, and told the view
    assert reason == "expired"
    assert asked == ["GET", "GET"]
    assert _seen(page)["ended"] == ["expired"]


def test_after_a_dead_path_the_page_asks_once_and_does_not_wait(page: Page) -> None:
    # Given our API that has the call live still (GPT-Live has not noticed the path died)
    asked: list[str] = []

    def answer(route: Route) -> None:
        asked.append(route.request.method)
        route.fulfill(status=200, content_type="application/json", body='{"status": "live", "reason": null}')

    page.route("**/api/call/call_0123", answer)
    _set_up(page)
    # When the page lost the session to a dead path
    reason = page.evaluate(
        """() => window.__live.protocol.lostReason(
          { url: new URL('api/call/call_0123', location.href).href, deadline: 0 },
          { code: 'connection_stalled' })"""
    )
    # Then it asked once and reconnects as after a drop (no reason)
    assert reason is None
    assert asked == ["GET"]


RELAY = """async ({ conversation }) => {
  const { relayNegotiator } = await import('./js/call/relay-negotiator.js');
  const negotiator = relayNegotiator({
    callUrl: new URL('api/call', location.href).href,
    conversation,
  });
  const offer = 'v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n';
  const answer = await negotiator.exchange(offer, new AbortController().signal);
  return { answer, call: negotiator.call };
}"""


def _answer_calls(page: Page, requests: list[dict[str, Any]]) -> None:
    def answer(route: Route) -> None:
        request = route.request
        requests.append({"type": request.headers.get("content-type"), "body": request.post_data})
        route.fulfill(
            status=201,
            body="v=0\r\nanswer\r\n",
            headers={
                "Content-Type": "application/sdp",
                "Location": "/api/call/call_abc",
                "Call-Ends-At": "4102444800",
            },
        )

    page.route("**/api/call", answer)


def test_a_rollover_posts_the_offer_and_the_conversation_as_json(page: Page) -> None:
    requests: list[dict[str, Any]] = []
    _answer_calls(page, requests)
    turns = [{"role": "user", "text": "Hi"}, {"role": "assistant", "text": "Hello! How can I help?"}]
    result = page.evaluate(RELAY, {"conversation": turns})
    assert result["answer"].startswith("v=0")
    assert result["call"]["url"].endswith("/api/call/call_abc")
    assert requests[0]["type"] == "application/json"
    body = json.loads(requests[0]["body"])
    assert body == {"sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n", "conversation": turns}


def test_without_a_conversation_the_offer_is_posted_as_sdp_as_before(page: Page) -> None:
    requests: list[dict[str, Any]] = []
    _answer_calls(page, requests)
    page.evaluate(RELAY, {"conversation": None})
    assert requests == [{"type": "application/sdp", "body": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}]
