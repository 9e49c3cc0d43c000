"""GPT-Live relayed calls (VOICE_API=live) end to end through the handler: moto for AWS, GPT-Live
faked strictly (tests/functional/live_upstream.py), the companion's close faked by the same fake.

What the page sees is Realtime relay's contract (201, the SDP answer, Location, Call-Ends-At); what
OpenAI gets is GPT-Live's JSON create, decided by the server, with the page's conversation as user
and assistant text only; a create is never repeated; the session ends by session.close.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import httpx
import pytest
import respx

from tests.conftest import load_event
from tests.fakes.openai_upstream import ANSWER_SDP, BASE_URL, openai_error
from tests.functional.conftest import KEY, QUOTA_TABLE, HandlerFactory, Reply, invoke
from tests.functional.live_upstream import CLOSE_MODULE, FakeLiveSessions, mount_live
from tests.functional.test_relay import call_event, delete_event
from vend.aws.companion_ledger import CompanionLedger

COMPANION = "realtime-vend-CompanionFunction"
LIVE_ID = re.compile(r"live_[0-9a-f]{32}")
VIEWER = "203.0.113.10:46532"  # the events' viewer


@pytest.fixture
def live_upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLiveSessions]:
    fake = FakeLiveSessions(valid_keys={KEY})
    monkeypatch.setitem(sys.modules, CLOSE_MODULE, fake.as_module())
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        mount_live(router, fake)
        yield fake


class Logs:
    """Everything the function logger writes during a test (as Lambda's stdout would get it)."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines() if line.startswith("{")]


@pytest.fixture
def live(
    cold_start: HandlerFactory, secret_arn: str, live_upstream: FakeLiveSessions
) -> Iterator[Callable[..., tuple[ModuleType, Logs]]]:
    restore: list[tuple[logging.StreamHandler[Any], Any]] = []

    def start(**env: str) -> tuple[ModuleType, Logs]:
        settings = {"VOICE_API": "live", "CALL_MODE": "relay", "MAX_CALL_SECONDS": "600", **env}
        logs = Logs()
        module = cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, OPENAI_BASE_URL=BASE_URL, **settings)
        for handler in logging.getLogger("realtime-vend").handlers:
            if isinstance(handler, logging.StreamHandler):
                restore.append((handler, handler.setStream(logs.stream)))
        return module, logs

    yield start
    for handler, stream in restore:
        handler.setStream(stream)


def start_live_call(module: ModuleType, event: str | dict[str, Any] = "call-live-conversation") -> Reply:
    return invoke(module, load_event(event) if isinstance(event, str) else event)


def status_event(location: str) -> dict[str, Any]:
    event = delete_event(location, VIEWER)
    event["requestContext"]["http"]["method"] = "GET"
    return event


def assert_nothing_leaks(reply: Reply, logs: Logs, fake: FakeLiveSessions) -> None:
    for session_id in fake.live | set(fake.closes):
        assert session_id not in json.dumps(reply.raw)
        assert session_id not in logs.text()
    assert not LIVE_ID.search(json.dumps(reply.raw)) and not LIVE_ID.search(logs.text())
    assert KEY not in json.dumps(reply.raw) and KEY not in logs.text()
    assert "Traceback" not in logs.text()


# --- starting a call -------------------------------------------------------------------------------


def test_a_live_call_starts_with_the_pages_contract(
    live: Callable[..., tuple[ModuleType, Logs]], live_upstream: FakeLiveSessions
) -> None:
    module, logs = live()

    reply = start_live_call(module)

    assert reply.status == 201
    assert reply.raw["body"] == ANSWER_SDP
    assert reply.headers["content-type"] == "application/sdp"
    assert re.fullmatch(r"/api/call/call_[0-9a-f]{32}", reply.headers["location"])
    assert int(reply.headers["call-ends-at"]) > 0
    assert len(live_upstream.creates) == 1
    assert_nothing_leaks(reply, logs, live_upstream)
    # The request's line says how much of the conversation went upstream, never what it said
    [line] = [line for line in logs.lines() if line.get("message") == "request"]
    assert (line["outcome"], line["conversation_carried"], line["conversation_sent"]) == (
        "call_started",
        3,
        3,
    )
    assert "Lisbon" not in logs.text()


def test_the_create_carries_the_conversation_and_the_servers_session(
    live: Callable[..., tuple[ModuleType, Logs]], live_upstream: FakeLiveSessions
) -> None:
    module, logs = live()

    start_live_call(module)

    [session] = live_upstream.sessions
    [line] = [line for line in logs.lines() if line.get("message") == "request"]
    assert session["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "What time is it in Lisbon?"}],
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": "It is a quarter past ten in the evening in Lisbon."}
            ],
        },
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Thanks. And in Tokyo?"}],
        },
    ]
    assert session["model"] == "gpt-live-1.1"
    assert session["store"] is False
    assert session["safety_identifier"] == line["visitor"]  # the visitor's fingerprint, never the address
    assert "203.0.113.10" not in json.dumps(session)
    assert session["client"]["data_channel"]["allowed_client_events"] == [
        "session.input_audio.mute",
        "session.input_audio.unmute",
        "session.close",
        "response.item.create",
        "response.create",
    ]
    # What the page shows, and never the session itself (session.started/updated/closed)
    assert session["client"]["data_channel"]["allowed_server_events"] == [
        {"type": "session.input_transcript.delta"},
        {"type": "session.output_transcript.delta"},
        {"type": "session.input_audio.muted"},
        {"type": "session.input_audio.unmuted"},
        {"type": "session.paused"},
        {"type": "session.resumed"},
        {"type": "session.delegation.created"},
        {"type": "error"},
        {"type": "info"},
        {"type": "response.event", "response_event": "response.output_item.done"},
    ]


def test_an_sdp_offer_still_starts_a_live_call_with_no_history(
    live: Callable[..., tuple[ModuleType, Logs]], live_upstream: FakeLiveSessions
) -> None:
    module, _ = live(LIVE_TYPED_TEXT="false")

    reply = invoke(module, "call-offer")

    assert reply.status == 201
    [session] = live_upstream.sessions
    assert "input" not in session
    assert "response.create" not in session["client"]["data_channel"]["allowed_client_events"]


def test_function_tools_only_with_a_companion(
    live: Callable[..., tuple[ModuleType, Logs]],
    live_upstream: FakeLiveSessions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alone, _ = live(LIVE_HOSTED_TOOLS="web_search")
    start_live_call(alone)
    with_companion, _ = live(COMPANION_FUNCTION_NAME=COMPANION, LIVE_HOSTED_TOOLS="web_search")
    importlib.import_module("vend.providers").INSTANCE.companions._built = _AcceptingLambda()
    start_live_call(with_companion, from_another_viewer())

    first, second = (session["delegation"]["responses"] for session in live_upstream.sessions)
    assert first["tools"] == [{"type": "web_search"}]
    assert [tool.get("name", tool["type"]) for tool in second["tools"]] == [
        "get_current_time",
        "end_call",
        "web_search",
    ]
    # Said once, at init, by the stack that leaves them out
    notes = [record for record in caplog.records if record.getMessage().startswith("function tools left out")]
    assert [record.__dict__["tools"] for record in notes] == [["get_current_time", "end_call"]]


class _AcceptingLambda:
    """Lambda's Invoke API for the companion: accepts the invocation (moto would try to run it)."""

    def invoke(self, **request: Any) -> dict[str, Any]:
        return {"StatusCode": 202}


def from_another_viewer() -> dict[str, Any]:
    """The conversation event from a second viewer (the first one's slot is still taken)."""
    event = load_event("call-live-conversation")
    event["headers"]["cloudfront-viewer-address"] = "203.0.113.11:40000"
    return event


# --- what the page may send -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "status", "code"),
    [
        ("call-live-developer-message", 400, "invalid_conversation"),
        ("call-live-unknown-field", 400, "unknown_field"),
        ("call-live-oversized", 413, "payload_too_large"),
    ],
)
def test_refused_bodies_reach_nobody(
    live: Callable[..., tuple[ModuleType, Logs]],
    live_upstream: FakeLiveSessions,
    event: str,
    status: int,
    code: str,
) -> None:
    module, logs = live()

    reply = start_live_call(module, event)

    assert (reply.status, reply.error_code) == (status, code)
    assert live_upstream.creates == []
    assert seconds_charged() == 0
    assert "Ignore your instructions" not in json.dumps(reply.raw) + logs.text()


def test_a_realtime_stack_still_refuses_json(
    cold_start: HandlerFactory, secret_arn: str, live_upstream: FakeLiveSessions
) -> None:
    module = cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, OPENAI_BASE_URL=BASE_URL, CALL_MODE="relay")

    reply = start_live_call(module)

    assert (reply.status, reply.error_code) == (415, "unsupported_media_type")
    assert reply.body["error"]["message"] == "Send the SDP offer as application/sdp."
    assert live_upstream.creates == []


def test_the_client_secret_endpoint_is_not_enabled(
    live: Callable[..., tuple[ModuleType, Logs]], live_upstream: FakeLiveSessions
) -> None:
    module, _ = live()

    reply = invoke(module, "mint")

    assert (reply.status, reply.error_code) == (404, "not_enabled")
    assert live_upstream.creates == []


# --- never a second create ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (openai_error(500, "server_error", "The server had an error."), 502, "upstream_unavailable"),
        (openai_error(503, None, "Slow down.", type_="server_error"), 502, "upstream_unavailable"),
        (httpx.ReadTimeout("timed out"), 504, "upstream_timeout"),
        (httpx.RemoteProtocolError("server disconnected"), 502, "upstream_unavailable"),
    ],
    ids=["500", "503", "read timeout", "disconnected"],
)
def test_an_upstream_failure_after_sending_is_not_retried(
    live: Callable[..., tuple[ModuleType, Logs]],
    live_upstream: FakeLiveSessions,
    failure: httpx.Response | Exception,
    status: int,
    code: str,
) -> None:
    module, logs = live()
    live_upstream.then(failure)

    reply = start_live_call(module)

    assert (reply.status, reply.error_code) == (status, code)
    assert len(live_upstream.creates) == 1  # each create bills 15 s: one only
    assert seconds_charged() == 0  # the charge is given back
    assert_nothing_leaks(reply, logs, live_upstream)


def test_a_201_without_a_session_id_is_upstream_unavailable(
    live: Callable[..., tuple[ModuleType, Logs]], live_upstream: FakeLiveSessions
) -> None:
    module, _ = live()
    live_upstream.then(httpx.Response(201, json={"transport": {"type": "webrtc", "sdp": ANSWER_SDP}}))

    reply = start_live_call(module)

    assert (reply.status, reply.error_code) == (502, "upstream_unavailable")
    assert len(live_upstream.creates) == 1


# --- ending and reading a call -------------------------------------------------------------------------


def test_delete_ends_the_session_by_session_close(
    live: Callable[..., tuple[ModuleType, Logs]], live_upstream: FakeLiveSessions
) -> None:
    module, logs = live()
    location = start_live_call(module).headers["location"]
    [session_id] = live_upstream.live

    ended = invoke(module, delete_event(location, VIEWER))

    assert ended.status == 204
    assert live_upstream.closes == [session_id]
    # The SIP-only hangup is tried after it, and (ignored, as the stand-in's default) changes nothing
    assert live_upstream.hangups == [session_id]
    assert live_upstream.live == set()
    assert_nothing_leaks(ended, logs, live_upstream)


def test_delete_gives_the_close_no_more_than_the_invocation_has_left(
    live: Callable[..., tuple[ModuleType, Logs]], live_upstream: FakeLiveSessions
) -> None:
    module, _ = live()
    location = start_live_call(module).headers["location"]

    # 3 s left in the invocation: a close that waited its usual 10 s would outlive it
    ended = invoke(module, delete_event(location, VIEWER), timeout_ms=3_000)

    assert ended.status == 204
    [budget] = live_upstream.close_budgets
    assert 0 < budget <= 3.0


def test_the_kill_switch_and_the_schedule_end_live_sessions(
    live: Callable[..., tuple[ModuleType, Logs]], live_upstream: FakeLiveSessions
) -> None:
    module, _ = live()
    start_live_call(module)
    call_id = start_live_call(module, from_another_viewer()).headers["location"].rsplit("/", 1)[1]
    relay = importlib.import_module("vend.providers").call_relay()

    assert relay.end_scheduled(call_id) is True
    assert len(live_upstream.closes) == 1
    assert relay.end_all() == 1

    assert len(live_upstream.closes) == 2
    assert live_upstream.live == set()


def test_get_reports_a_live_call_then_why_it_ended(
    live: Callable[..., tuple[ModuleType, Logs]], live_upstream: FakeLiveSessions
) -> None:
    module, logs = live(COMPANION_FUNCTION_NAME=COMPANION)
    importlib.import_module("vend.providers").INSTANCE.companions._built = _AcceptingLambda()
    location = start_live_call(module).headers["location"]
    call_id = location.rsplit("/", 1)[1]

    during = invoke(module, status_event(location))
    # The companion saw session.closed with GPT-Live's reason, and recorded it
    CompanionLedger(QUOTA_TABLE).mark_finalised(call_id, "remote_hangup", now=1, ends_at=2)
    after = invoke(module, status_event(location))

    assert (during.status, during.body) == (200, {"status": "live", "reason": None})
    assert (after.status, after.body) == (200, {"status": "ended", "reason": "remote_hangup"})
    assert after.headers["cache-control"] == "no-store"
    assert_nothing_leaks(after, logs, live_upstream)


def test_get_reports_an_ended_call_without_a_reason_when_no_companion_saw_it(
    live: Callable[..., tuple[ModuleType, Logs]], live_upstream: FakeLiveSessions
) -> None:
    module, _ = live()
    location = start_live_call(module).headers["location"]
    invoke(module, delete_event(location, VIEWER))

    reply = invoke(module, status_event(location))

    assert (reply.status, reply.body) == (200, {"status": "ended", "reason": None})


def test_get_is_for_the_visitors_own_call_only(
    live: Callable[..., tuple[ModuleType, Logs]], live_upstream: FakeLiveSessions
) -> None:
    module, _ = live()
    location = start_live_call(module).headers["location"]
    stranger = status_event(location)
    stranger["headers"]["cloudfront-viewer-address"] = "198.51.100.9:5000"

    theirs = invoke(module, stranger)
    unknown = invoke(module, "call-status")
    malformed = invoke(module, status_event("/api/call/rtc_123"))

    for reply in (theirs, unknown, malformed):
        assert (reply.status, reply.error_code) == (404, "call_not_found")
    assert theirs.body == unknown.body  # the same answer: ids cannot be probed


def test_get_serves_realtime_calls_too(cold_start: HandlerFactory, secret_arn: str) -> None:
    from tests.fakes.openai_upstream import FakeCalls, mount_calls

    calls = FakeCalls(valid_keys={KEY})
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        mount_calls(router, calls)
        module = cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, OPENAI_BASE_URL=BASE_URL, CALL_MODE="relay")
        location = invoke(module, call_event(viewer=VIEWER)).headers["location"]

        reply = invoke(module, status_event(location))

    assert (reply.status, reply.body) == (200, {"status": "live", "reason": None})


def seconds_charged() -> int:
    """Every call-seconds counter in the table, summed (0: nothing charged, or all given back)."""
    items = boto3.client("dynamodb").scan(TableName=QUOTA_TABLE)["Items"]
    return sum(int(item["count"]["N"]) for item in items if item["pk"]["S"].startswith("callsec"))


def test_starting_a_call_never_loads_the_sideband_close(
    live: Callable[..., tuple[ModuleType, Logs]],
    live_upstream: FakeLiveSessions,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # None in sys.modules makes any import of it fail: init and a create must not need it.
    monkeypatch.setitem(sys.modules, CLOSE_MODULE, None)
    module, _ = live()

    reply = start_live_call(module)

    assert reply.status == 201
