"""The relay's routes one by one, CallMode relay: the client-secret endpoint is closed, events/call-offer.json
starts a call, a call id cannot be ended by another visitor nor reached by OpenAI's id, forged
forwarding headers buy no extra call slots, and the router's known defect is pinned."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import call_offer, load_event
from tests.security.conftest import handler_environment
from tests.security.harness import (
    CALLER_IPV4S,
    Battery,
    Exchange,
    check,
    cloudfront_headers,
    documented_responses,
    http_event,
    operation_for,
)

SOURCE = "call replays"
OFFER = call_offer()


@pytest.fixture(scope="module")
def relaying() -> Iterator[Battery]:
    with handler_environment(CALL_MODE="relay", CONCURRENT_CALLS_PER_VISITOR="2") as environment:
        yield environment


def send(battery: Battery, event: dict[str, Any]) -> Exchange:
    http = event["requestContext"]["http"]
    exchange = battery.send(event, SOURCE)
    check(exchange, documented_responses(*operation_for(http["path"], http["method"])))
    return exchange


def offer(viewer: str, **extra: str) -> dict[str, Any]:
    headers = {**cloudfront_headers(viewer), "content-type": "application/sdp", **extra}
    return http_event("POST", "/api/call", headers, OFFER)


def delete(path: str, viewer: str) -> dict[str, Any]:
    headers = cloudfront_headers(viewer)
    headers.pop("content-type")
    return http_event("DELETE", path, headers, None)


def test_relay_mode_closes_the_client_secret_endpoint(relaying: Battery) -> None:
    exchange = send(relaying, http_event(body="{}"))

    assert (exchange.status, exchange.error_code) == (404, "not_enabled")
    assert exchange.minted == []


def test_the_call_offer_event_starts_a_call_in_relay_mode(relaying: Battery) -> None:
    event = load_event("call-offer")
    event["headers"]["cloudfront-viewer-address"] = f"{CALLER_IPV4S[0]}:443"

    started = send(relaying, event)
    ended = send(relaying, delete(started.headers["location"], f"{CALLER_IPV4S[0]}:1"))

    assert (started.status, started.opened) == (201, 1)
    assert relaying.calls.offers[-1].startswith("v=0\r\no=- 7812364590124387561")
    assert (ended.status, ended.hung_up) == (204, 1)


def test_only_the_caller_ends_its_call_and_openai_ids_reach_nothing(relaying: Battery) -> None:
    owner, stranger = f"{CALLER_IPV4S[1]}:443", f"{CALLER_IPV4S[2]}:443"
    location = send(relaying, offer(owner)).headers["location"]
    [rtc] = [call for call in relaying.calls.live if call not in relaying.calls.hangups]

    refused = send(relaying, delete(location, stranger))
    # OpenAI's id where ours belongs: not found. (Not `send`: the request log line rightly names the
    # path it was asked for, so the battery's rtc_ check would flag the prober's own input.)
    probe = relaying.send(delete(f"/api/call/{rtc}", owner), SOURCE)
    ended = send(relaying, delete(location, owner))

    assert (refused.status, refused.error_code, refused.hung_up) == (404, "call_not_found", 0)
    assert (
        refused.body
        == probe.body
        == {"error": {"code": "call_not_found", "message": "There is no call of yours with that id."}}
    )
    assert (probe.status, probe.hung_up) == (404, 0)
    assert rtc not in probe.body_text + str(probe.headers)
    assert (ended.status, ended.hung_up) == (204, 1)


def test_forged_forwarding_headers_buy_no_extra_call_slots(relaying: Battery) -> None:
    outcomes = []
    for n in range(5):
        forged = {
            "x-forwarded-for": f"203.0.113.{n}, 130.176.0.1",
            "x-real-ip": f"192.0.2.{n}",
            "authorization": f"Bearer forged-{n}",
        }
        exchange = send(relaying, offer(f"{CALLER_IPV4S[3]}:{40000 + n}", **forged))
        outcomes.append((exchange.status, exchange.error_code))
        if exchange.status == 429:
            assert 590 <= int(exchange.headers["retry-after"]) <= 600  # the earliest call's cap

    assert outcomes == [(201, None)] * 2 + [(429, "concurrent_calls")] * 3


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/api/call", "POST"),
        ("PUT", "/api/call", "POST"),
        ("DELETE", "/api/call", "POST"),
        ("PROPFIND", "/api/call", "POST"),
        # GET reads a call's status (issue 19): the call path serves GET and DELETE
        ("PUT", "/api/call/call_" + "0" * 32, "GET, DELETE"),
        ("POST", "/api/call/call_" + "0" * 32, "GET, DELETE"),
        ("PATCH", "/api/call/x", "GET, DELETE"),
    ],
)
def test_wrong_methods_on_the_call_routes_get_405_with_allow(
    relaying: Battery, method: str, path: str, allow: str
) -> None:
    headers = {**cloudfront_headers(), "content-type": "application/sdp"}

    exchange = send(relaying, http_event(method, path, headers, OFFER))

    assert (exchange.status, exchange.headers["allow"], exchange.opened) == (405, allow, 0)


@pytest.mark.parametrize("call_id", ['a"b', "a#b", "a?b", "a\\b", "€", "a`b"])
def test_delete_of_an_id_the_router_cannot_match_is_not_found(relaying: Battery, call_id: str) -> None:
    exchange = relaying.send(delete(f"/api/call/{call_id}", f"{CALLER_IPV4S[0]}:443"), SOURCE)

    assert (exchange.status, exchange.error_code) == (404, "call_not_found")


@pytest.mark.parametrize("call_id", ["\x1f", "\n", "a\x7fb"])
def test_a_path_with_a_control_character_is_not_found_before_routing(relaying: Battery, call_id: str) -> None:
    exchange = relaying.send(delete(f"/api/call/{call_id}", f"{CALLER_IPV4S[0]}:443"), SOURCE)

    assert (exchange.status, exchange.error_code) == (404, "not_found")
