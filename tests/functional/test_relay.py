"""Relayed calls: the browser holds no credential, every call has a server-enforced end, and an
operator can end them all. The handler in-process on moto (DynamoDB, Scheduler), OpenAI faked strictly.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import httpx
import pytest

from tests.conftest import FakeLambdaContext, call_offer, load_event
from tests.fakes.openai_upstream import ANSWER_SDP, BASE_URL, FakeCalls, FakeClientSecrets
from tests.functional.conftest import QUOTA_TABLE, REQUIRED_ENV, HandlerFactory, Reply, invoke

OFFER = call_offer()
GROUP = REQUIRED_ENV["SCHEDULE_GROUP_NAME"]


def call_event(
    body: str | None = OFFER, viewer: str = "203.0.113.10:46532", **headers: str
) -> dict[str, Any]:
    event = load_event("mint")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/api/call"
    event["routeKey"] = event["requestContext"]["routeKey"] = "ANY /api/call"
    event["headers"]["content-type"] = "application/sdp"
    event["headers"]["cloudfront-viewer-address"] = viewer
    event["headers"].update(headers)
    event["body"] = body
    return event


def delete_event(location: str, viewer: str = "203.0.113.10:46532") -> dict[str, Any]:
    event = call_event(None, viewer)
    event["rawPath"] = event["requestContext"]["http"]["path"] = location
    event["requestContext"]["http"]["method"] = "DELETE"
    event["headers"].pop("content-type")
    return event


@pytest.fixture
def relay(
    cold_start: HandlerFactory, secret_arn: str, upstream: FakeClientSecrets, calls: FakeCalls
) -> Callable[..., ModuleType]:
    def start(**env: str) -> ModuleType:
        settings = {"CALL_MODE": "relay", "MAX_CALL_SECONDS": "600", **env}
        return cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, OPENAI_BASE_URL=BASE_URL, **settings)

    return start


def schedules() -> dict[str, dict[str, Any]]:
    client = boto3.client("scheduler")
    names = [s["Name"] for s in client.list_schedules(GroupName=GROUP)["Schedules"]]
    return {name: client.get_schedule(Name=name, GroupName=GROUP) for name in names}


def seconds_charged(key: str) -> int:
    item = boto3.client("dynamodb").get_item(TableName=QUOTA_TABLE, Key={"pk": {"S": key}}).get("Item")
    return int(item["count"]["N"]) if item else 0


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def start_call(module: ModuleType, **kwargs: Any) -> Reply:
    return invoke(module, call_event(**kwargs))


# --- the mode -------------------------------------------------------------------------------------


def test_client_secret_mode_has_no_call_endpoint(relay: Callable[..., ModuleType], calls: FakeCalls) -> None:
    module = relay(CALL_MODE="client_secret")

    reply = start_call(module)

    assert (reply.status, reply.error_code) == (404, "not_enabled")
    assert "POST /api/session" in reply.body["error"]["message"]
    assert calls.offers == []


def test_relay_mode_closes_the_client_secret_endpoint(
    relay: Callable[..., ModuleType], upstream: FakeClientSecrets
) -> None:
    module = relay(CALL_MODE="relay")

    reply = invoke(module, "mint")

    # Leaving it open beside relay would undo relay's cap
    assert (reply.status, reply.error_code) == (404, "not_enabled")
    assert upstream.requests == []


def test_signed_in_mode_relays_no_call_without_a_subject(
    relay: Callable[..., ModuleType], calls: FakeCalls
) -> None:
    issuer = "https://issuer.example.com/"
    module = relay(AUTH_ISSUER=issuer)
    signed_in = call_event()
    signed_in["requestContext"]["authorizer"] = {
        "jwt": {"claims": {"sub": "alice", "iss": issuer}, "scopes": []}
    }

    anonymous = start_call(module)
    accepted = invoke(module, signed_in)

    assert (anonymous.status, anonymous.error_code) == (401, "sign_in_required")
    assert accepted.status == 201
    assert len(calls.offers) == 1


def test_both_serves_both(relay: Callable[..., ModuleType]) -> None:
    module = relay(CALL_MODE="both")

    assert invoke(module, "mint").status == 200
    assert start_call(module).status == 201


# --- starting a call -------------------------------------------------------------------------------


def test_a_call_is_relayed_with_the_servers_session_and_capped(
    relay: Callable[..., ModuleType], calls: FakeCalls
) -> None:
    module = relay(MAX_CALL_SECONDS="600")
    before = int(time.time())

    reply = start_call(module)

    assert reply.status == 201
    assert reply.headers["content-type"].startswith("application/sdp")
    assert reply.raw["body"] == ANSWER_SDP
    location = reply.headers["location"]
    assert location.startswith("/api/call/call_")
    ends_at = int(reply.headers["call-ends-at"])
    assert before + 600 <= ends_at <= int(time.time()) + 600
    # OpenAI got the offer with the real key, the server's session and a fingerprint, never the IP
    [session] = calls.sessions
    assert session["type"] == "realtime" and session["model"] == "gpt-realtime-2.1"
    assert calls.offers[0].startswith("v=0") and "m=application" in calls.offers[0]
    [safety] = calls.safety_identifiers
    assert safety is not None and "203.0.113" not in safety
    # and the server-enforced end is scheduled, once, at the cap, for this call
    call_id = location.rsplit("/", 1)[1]
    [schedule] = schedules().values()
    assert schedule["Name"] == call_id
    at = dt.datetime.fromtimestamp(ends_at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert schedule["ScheduleExpression"] == f"at({at})"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert json.loads(schedule["Target"]["Input"]) == {"call_id": call_id}
    assert schedule["Target"]["Arn"] == REQUIRED_ENV["HANGUP_FUNCTION_ARN"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (OFFER, "application/json", 415, "unsupported_media_type"),
        ("hello", "application/sdp", 400, "invalid_offer"),
        (OFFER.replace("a=setup:actpass", "a=setup:active"), "application/sdp", 400, "invalid_offer"),
        (OFFER.replace("m=application", "m=audio"), "application/sdp", 400, "invalid_offer"),
        (
            OFFER.replace("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", ""),
            "application/sdp",
            400,
            "invalid_offer",
        ),
        (OFFER + "a=x:" + "y" * 33_000 + "\r\n", "application/sdp", 413, "payload_too_large"),
        ("", "application/sdp", 400, "invalid_offer"),
    ],
    ids=["json", "not-sdp", "an-answer", "two-audio", "no-data-channel", "too-large", "empty"],
)
def test_anything_but_a_voice_call_offer_is_refused_before_openai(
    relay: Callable[..., ModuleType], calls: FakeCalls, body: str, content_type: str, status: int, code: str
) -> None:
    module = relay()

    reply = start_call(module, body=body, **{"content-type": content_type})

    assert (reply.status, reply.error_code) == (status, code)
    assert calls.offers == []
    assert seconds_charged(f"callsec#day#{today()}") == 0


def test_an_offer_openai_rejects_is_400_not_500_and_refunded(
    relay: Callable[..., ModuleType], calls: FakeCalls
) -> None:
    module = relay()
    calls.then(
        httpx.Response(
            400, json={"error": {"message": "Invalid SDP", "param": "sdp", "code": "invalid_offer"}}
        )
    )

    reply = start_call(module)

    assert (reply.status, reply.error_code) == (400, "invalid_offer")
    assert seconds_charged(f"callsec#day#{today()}") == 0
    assert schedules() == {}
    assert start_call(module).status == 201  # the lease was given back too


def test_another_site_cannot_start_a_call(relay: Callable[..., ModuleType], calls: FakeCalls) -> None:
    module = relay()

    reply = start_call(module, origin="https://evil.example")

    assert (reply.status, reply.error_code) == (403, "cross_site_request")
    assert calls.offers == []


# --- limits ----------------------------------------------------------------------------------------


def test_one_visitor_gets_one_call_at_a_time(relay: Callable[..., ModuleType]) -> None:
    module = relay(CONCURRENT_CALLS_PER_VISITOR="1", MAX_CALL_SECONDS="600")
    first = start_call(module)

    second = start_call(module)

    assert (second.status, second.error_code) == (429, "concurrent_calls")
    assert 590 <= int(second.headers["retry-after"]) <= 600  # when the open call's lease runs out
    assert "already have one call open" in second.body["error"]["message"]
    assert start_call(module, viewer="192.0.2.7:1").status == 201  # someone else is unaffected
    # ending the first frees the slot
    assert invoke(module, delete_event(first.headers["location"])).status == 204
    assert start_call(module).status == 201


def test_call_minutes_are_charged_in_full_and_refunded_when_ended_early(
    relay: Callable[..., ModuleType],
) -> None:
    # 11 minutes a day per visitor, calls capped at 10 minutes: one call at a time, charged in full (the
    # spare minute leaves room for the seconds the first call really lasted on a busy machine)
    module = relay(CALL_MINUTES_PER_VISITOR="11", MAX_CALL_SECONDS="600", CONCURRENT_CALLS_PER_VISITOR="2")
    first = start_call(module)
    visitor_key = next(k for k in _keys() if k.startswith("callsec#") and "#day#" not in k)
    assert seconds_charged(visitor_key) == 600

    refused = start_call(module)
    assert (refused.status, refused.error_code) == (429, "quota_exceeded")
    assert "11 call-minutes" in refused.body["error"]["message"]
    midnight = dt.datetime.combine(dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1), dt.time(), dt.UTC)
    assert int(refused.headers["retry-after"]) == pytest.approx(
        (midnight - dt.datetime.now(dt.UTC)).total_seconds(), abs=3
    )

    # ended through our API after ~0 s: the unused part comes back, to the visitor and to the stack
    assert invoke(module, delete_event(first.headers["location"])).status == 204
    assert seconds_charged(visitor_key) <= 2
    assert seconds_charged(f"callsec#day#{today()}") <= 2
    assert start_call(module).status == 201


def test_the_stack_wide_call_minutes_bind_across_visitors(relay: Callable[..., ModuleType]) -> None:
    module = relay(CALL_MINUTES_PER_DAY="20", MAX_CALL_SECONDS="600")

    statuses = [start_call(module, viewer=f"192.0.2.{n}:1") for n in (1, 2, 3)]

    assert [r.status for r in statuses] == [201, 201, 429]
    assert statuses[2].error_code == "daily_cap_reached"
    assert "20 call-minutes" in statuses[2].body["error"]["message"]


# --- ending a call ---------------------------------------------------------------------------------


def test_the_page_ends_its_own_call_idempotently(relay: Callable[..., ModuleType], calls: FakeCalls) -> None:
    module = relay()
    location = start_call(module).headers["location"]

    first, again = invoke(module, delete_event(location)), invoke(module, delete_event(location))

    assert (first.status, again.status) == (204, 204)
    assert first.raw["body"] == ""
    assert len(calls.hangups) == 1 and calls.live == set()  # hung up upstream once
    assert schedules() == {}  # and its scheduled hangup cancelled


@pytest.mark.parametrize("location", ["/api/call/call_" + "0" * 32, "/api/call/rtc_abc", "/api/call/..%2f"])
def test_unknown_and_malformed_call_ids_are_not_found(
    relay: Callable[..., ModuleType], location: str
) -> None:
    module = relay()

    reply = invoke(module, delete_event(location))

    assert (reply.status, reply.error_code) == (404, "call_not_found")


def test_only_the_visitor_who_started_a_call_can_end_it(
    relay: Callable[..., ModuleType], calls: FakeCalls
) -> None:
    module = relay()
    location = start_call(module, viewer="198.51.100.1:1").headers["location"]

    reply = invoke(module, delete_event(location, viewer="198.51.100.2:1"))

    assert (reply.status, reply.error_code) == (404, "call_not_found")  # the same answer as unknown
    assert calls.hangups == []


def test_wrong_methods_on_a_call_get_405(relay: Callable[..., ModuleType]) -> None:
    module = relay()
    location = start_call(module).headers["location"]
    event = delete_event(location)
    event["requestContext"]["http"]["method"] = "PUT"

    reply = invoke(module, event)

    # GET reads the call's status (issue 19); every other method but DELETE is refused
    assert (reply.status, reply.headers["allow"]) == (405, "GET, DELETE")


# --- the schedule and the kill switch --------------------------------------------------------------


def hangup_module() -> ModuleType:
    return importlib.import_module("vend.hangup")


def test_the_scheduled_hangup_ends_the_call_and_frees_the_lease(
    relay: Callable[..., ModuleType], calls: FakeCalls
) -> None:
    module = relay(CONCURRENT_CALLS_PER_VISITOR="1")
    call_id = start_call(module).headers["location"].rsplit("/", 1)[1]

    result = hangup_module().lambda_handler({"call_id": call_id}, FakeLambdaContext())

    assert result == {"ended": True}
    assert calls.live == set()
    assert start_call(module).status == 201  # the lease is free
    # the page's DELETE afterwards is still a quiet 204, and charges nothing back (the cap was used)
    assert invoke(module, delete_event(f"/api/call/{call_id}")).status == 204


def test_a_schedule_that_finds_the_call_already_over_succeeds(
    relay: Callable[..., ModuleType], calls: FakeCalls
) -> None:
    module = relay()
    call_id = start_call(module).headers["location"].rsplit("/", 1)[1]
    calls.live.clear()  # the call ended upstream on its own (the visitor closed the tab, OpenAI's limit)

    first = hangup_module().lambda_handler({"call_id": call_id}, FakeLambdaContext())
    again = hangup_module().lambda_handler({"call_id": call_id}, FakeLambdaContext())

    assert (first, again) == ({"ended": True}, {"ended": False})  # OpenAI's 404 is success


def test_the_kill_switch_ends_every_live_call(relay: Callable[..., ModuleType], calls: FakeCalls) -> None:
    module = relay()
    for n in (1, 2, 3):
        assert start_call(module, viewer=f"192.0.2.{n}:1").status == 201
    operator = importlib.import_module("vend.kill_switch")

    result = operator.lambda_handler({"action": "end_all_calls"}, FakeLambdaContext())

    assert result == {"ended": 3}
    assert calls.live == set()
    assert schedules() == {}
    assert operator.lambda_handler({"action": "end_all_calls"}, FakeLambdaContext()) == {"ended": 0}


def test_no_call_starts_without_its_scheduled_end(
    relay: Callable[..., ModuleType], calls: FakeCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = relay()
    import botocore.client
    from botocore.exceptions import ClientError

    original = botocore.client.BaseClient._make_api_call

    def failing(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "CreateSchedule":
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation
            )
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", failing)

    reply = start_call(module)

    assert (reply.status, reply.error_code) == (503, "call_cap_unavailable")
    assert calls.live == set() and len(calls.hangups) == 1  # opened upstream, then hung up at once
    assert seconds_charged(f"callsec#day#{today()}") == 0


def _keys() -> list[str]:
    items = boto3.client("dynamodb").scan(TableName=QUOTA_TABLE)["Items"]
    return [item["pk"]["S"] for item in items]


def test_the_hangup_functions_init_reads_only_what_its_role_may(
    cold_start: HandlerFactory, secret_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.client

    asked: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def spy(self: Any, operation: str, params: dict[str, Any]) -> Any:
        asked.append(f"{operation}:{params.get('SecretId') or params.get('Name') or params.get('TableName')}")
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    monkeypatch.setenv("_HANDLER", "vend.hangup.lambda_handler")  # what Lambda sets for that function

    cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, OPENAI_BASE_URL=BASE_URL, CALL_MODE="relay")

    # the key and the table; not the origin header, the visitor key or the pause switch
    assert sorted(a.split(":")[0] for a in asked) == ["GetItem", "GetSecretValue"]
    assert any(secret_arn in a for a in asked)


def test_a_reconnect_replaces_the_dropped_call_in_one_request(
    relay: Callable[..., ModuleType], calls: FakeCalls
) -> None:
    module = relay(CONCURRENT_CALLS_PER_VISITOR="1")
    dropped = start_call(module).headers["location"]

    # without Replaces-Call the slot is still the dead call's
    assert start_call(module).error_code == "concurrent_calls"
    replacement = start_call(module, **{"replaces-call": dropped})

    assert replacement.status == 201
    assert len(calls.hangups) == 1  # the dropped call was hung up upstream first
    assert list(schedules()) == [replacement.headers["location"].rsplit("/", 1)[1]]
    assert seconds_charged(f"callsec#day#{today()}") <= 602  # the dropped call's unused cap came back


def test_replaces_call_cannot_end_another_visitors_call(
    relay: Callable[..., ModuleType], calls: FakeCalls
) -> None:
    module = relay()
    theirs = start_call(module, viewer="198.51.100.1:1").headers["location"]

    mine = start_call(module, viewer="198.51.100.2:1", **{"replaces-call": theirs})

    assert mine.status == 201
    assert calls.hangups == []  # their call runs on
