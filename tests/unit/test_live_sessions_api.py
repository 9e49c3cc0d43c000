"""GPT-Live's create and end, against httpx.MockTransport with a fake clock: the JSON OpenAI gets
(checked with the SDK's `LiveCreateParams`), the answer read from the 201, the errors Realtime's
create gives, never a second create once one may have reached OpenAI, and the two-step end."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from openai.types.live import LiveCreateParams, LiveCreateResponse
from pydantic import TypeAdapter

from tests.conftest import call_offer
from tests.fakes.openai_upstream import unknown_keys
from vend.errors import (
    InvalidOffer,
    ServerMisconfigured,
    UpstreamQuotaExhausted,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
    VendError,
)
from vend.openai_api.http import OpenAIHttp
from vend.openai_api.live_sessions import LiveSessionsApi
from vend.secret_values import OpenAIApiKey

KEY = OpenAIApiKey("sk-unit-test-1111111111111111111111")
BASE = "https://api.openai.com"
SESSION_ID = "live_0123456789abcdef0123456789abcdef"
ANSWER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
SESSION = {"model": "gpt-live-1.1", "safety_identifier": "v_1", "store": False}
CREATE: TypeAdapter[Any] = TypeAdapter(LiveCreateParams)
OFFER = call_offer()


def created(session_id: str = SESSION_ID, answer: str = ANSWER, status: int = 201) -> httpx.Response:
    body = {"session": {"id": session_id}, "transport": {"type": "webrtc", "sdp": answer}}
    LiveCreateResponse.model_validate(body)
    return httpx.Response(status, json=body)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Closer:
    def __init__(self, outcome: bool | Exception = True) -> None:
        self.outcome = outcome
        self.closed: list[tuple[str, str, str]] = []

    def __call__(self, base_url: str, api_key: OpenAIApiKey, session_id: str, *, deadline: float) -> bool:
        self.closed.append((base_url, api_key.reveal(), session_id))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def api(
    outcomes: list[httpx.Response | Exception], closer: Closer | None = None
) -> tuple[LiveSessionsApi, list[httpx.Request], Clock]:
    clock = Clock()
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    http = OpenAIHttp(
        BASE,
        connect_timeout=2,
        read_timeout=4,
        transport=httpx.MockTransport(handle),
        sleep=clock.sleep,
        jitter=lambda: 0.5,
        clock=clock,
    )
    return LiveSessionsApi(http, BASE, closer or Closer(), clock=clock), seen, clock


def test_the_create_is_the_documented_json() -> None:
    client, seen, clock = api([created()])

    opened = client.create(KEY, OFFER, SESSION, deadline=clock.now + 10, safety_identifier="v_1")

    [request] = seen
    assert (request.method, str(request.url)) == ("POST", f"{BASE}/v1/live/sessions")
    assert request.headers["authorization"] == f"Bearer {KEY.reveal()}"
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    assert unknown_keys(CREATE.validate_python(body), body) == []
    assert body == {"session": SESSION, "transport": {"type": "webrtc", "sdp": OFFER}}
    assert (opened.answer_sdp, opened.openai_call_id, opened.attempts) == (ANSWER, SESSION_ID, 1)


@pytest.mark.parametrize(
    "reply",
    [
        created(status=200),
        httpx.Response(201, text="v=0\r\n"),  # Realtime's shape, not GPT-Live's
        httpx.Response(201, json={"transport": {"type": "webrtc", "sdp": ANSWER}}),
        httpx.Response(201, json={"session": {}, "transport": {"type": "webrtc", "sdp": ANSWER}}),
        httpx.Response(201, json={"session": {"id": 7}, "transport": {"type": "webrtc", "sdp": ANSWER}}),
        httpx.Response(201, json={"session": {"id": "live_x/../y"}, "transport": {"sdp": ANSWER}}),
        httpx.Response(201, json={"session": {"id": SESSION_ID}, "transport": {"type": "webrtc"}}),
        httpx.Response(201, json={"session": {"id": SESSION_ID}, "transport": {"sdp": "<html>"}}),
        httpx.Response(201, json=[SESSION_ID]),
    ],
    ids=["200", "sdp body", "no session", "no id", "id not a string", "id not path-safe", "no answer",
         "answer not sdp", "a list"],
)  # fmt: skip
def test_a_201_we_cannot_use_is_upstream_unavailable(reply: httpx.Response) -> None:
    client, seen, clock = api([reply])

    with pytest.raises(UpstreamUnavailable) as raised:
        client.create(KEY, OFFER, SESSION, deadline=clock.now + 10)

    assert len(seen) == 1
    # The log reason never carries the id or OpenAI's body
    assert SESSION_ID not in raised.value.reason and "live_" not in raised.value.reason
    assert raised.value.public_message == UpstreamUnavailable.message


def error(status: int, code: str, param: str | None = None, **headers: str) -> httpx.Response:
    body = {"error": {"message": f"Bad: {SESSION_ID} sk-…1111", "type": "x", "param": param, "code": code}}
    return httpx.Response(status, json=body, headers=headers)


SENT_FAILURES: list[tuple[httpx.Response | Exception, type[VendError]]] = [
    (error(500, "server_error"), UpstreamUnavailable),
    (error(502, "bad_gateway"), UpstreamUnavailable),
    (error(503, "unavailable"), UpstreamUnavailable),
    (error(504, "initialization_timeout"), UpstreamUnavailable),
    (error(408, "timeout"), UpstreamUnavailable),
    (error(429, "rate_limit_exceeded", **{"retry-after": "0.2"}), UpstreamRateLimited),
    (httpx.ReadTimeout("read timed out"), UpstreamTimeout),
    (httpx.WriteTimeout("write timed out"), UpstreamTimeout),
    (httpx.ReadError("connection reset"), UpstreamUnavailable),
    (httpx.RemoteProtocolError("server disconnected"), UpstreamUnavailable),
]


@pytest.mark.parametrize(("outcome", "expected"), SENT_FAILURES, ids=lambda v: getattr(v, "status_code", v))
def test_never_a_second_create_once_one_may_have_reached_openai(
    outcome: httpx.Response | Exception, expected: type[VendError]
) -> None:
    # A second create would be a second session, billed 15 s at least.
    client, seen, clock = api([outcome, created()])

    with pytest.raises(expected):
        client.create(KEY, OFFER, SESSION, deadline=clock.now + 20)

    assert len(seen) == 1
    assert clock.slept == []


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("connect timed out")]
)
def test_a_failure_to_connect_is_retried_once(failure: Exception) -> None:
    # Nothing left this process: OpenAI cannot have opened (or billed) a session.
    client, seen, clock = api([failure, created()])

    opened = client.create(KEY, OFFER, SESSION, deadline=clock.now + 20)

    assert len(seen) == 2
    assert opened.attempts == 2


def test_two_failures_to_connect_give_up() -> None:
    client, seen, clock = api([httpx.ConnectError("refused"), httpx.ConnectError("refused"), created()])

    with pytest.raises(UpstreamUnavailable):
        client.create(KEY, OFFER, SESSION, deadline=clock.now + 20)

    assert len(seen) == 2


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (error(400, "invalid_offer", param="transport.sdp"), InvalidOffer),  # the page's offer
        (error(400, "invalid_value", param="session.audio.output.voice"), ServerMisconfigured),
        (error(400, "unknown_parameter", param="session.foo"), ServerMisconfigured),
        (error(403, "model_not_enabled"), ServerMisconfigured),
        (error(429, "insufficient_quota"), UpstreamQuotaExhausted),
    ],
)
def test_refusals_map_as_for_realtime(reply: httpx.Response, expected: type[VendError]) -> None:
    client, seen, clock = api([reply])

    with pytest.raises(expected) as raised:
        client.create(KEY, OFFER, SESSION, deadline=clock.now + 10)

    assert len(seen) == 1
    assert "live_" not in raised.value.reason and "Bad" not in raised.value.public_message


# --- ending a session -------------------------------------------------------------------------------


def test_hangup_closes_over_the_sideband_then_tries_the_sip_hangup() -> None:
    closer = Closer(True)
    client, seen, clock = api([httpx.Response(200)], closer)

    assert client.hangup(KEY, SESSION_ID, deadline=clock.now + 10) is True

    assert closer.closed == [(BASE, KEY.reveal(), SESSION_ID)]
    [request] = seen
    assert str(request.url) == f"{BASE}/v1/live/sessions/{SESSION_ID}/hangup"
    assert request.content == b""


@pytest.mark.parametrize(
    "hangup_reply",
    [httpx.Response(404), error(400, "not_sip"), error(500, "x"), httpx.ReadTimeout("slow")],
    ids=["404", "400", "500", "timeout"],
)
def test_the_sip_hangup_failing_changes_nothing(hangup_reply: httpx.Response | Exception) -> None:
    client, seen, clock = api([hangup_reply, error(500, "again")], Closer(True))

    assert client.hangup(KEY, SESSION_ID, deadline=clock.now + 10) is True
    assert len(seen) == 1  # and it is not retried either


def test_a_session_already_over_needs_no_hangup() -> None:
    client, seen, clock = api([], Closer(False))

    assert client.hangup(KEY, SESSION_ID, deadline=clock.now + 10) is False
    assert seen == []


def test_a_failed_close_still_tries_the_hangup_and_reports_the_failure() -> None:
    client, seen, clock = api([httpx.Response(200)], Closer(UpstreamUnavailable("attach_failed")))

    with pytest.raises(UpstreamUnavailable):
        client.hangup(KEY, SESSION_ID, deadline=clock.now + 10)

    assert len(seen) == 1
