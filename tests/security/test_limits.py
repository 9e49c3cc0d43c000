"""The limits under forged headers, and the pause switch flipped while requests flow.

Each test is an environment of its own (small quota; a pause switch to flip), so these run with
`handler_environment` rather than the module's shared battery.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.functional.conftest import set_paused
from tests.security.conftest import handler_environment
from tests.security.harness import (
    VIEWER_IPV4,
    Battery,
    check,
    cloudfront_headers,
    documented_responses,
    http_event,
)
from vend.logic.pause import MAX_AGE_SECONDS

POST = documented_responses("/api/session", "post")


@pytest.fixture
def small_quota() -> Iterator[Battery]:
    with handler_environment(QUOTA_PER_VISITOR="3", QUOTA_WINDOW_SECONDS="600") as environment:
        yield environment


@pytest.fixture
def serving() -> Iterator[Battery]:
    with handler_environment() as environment:
        yield environment


def test_forged_forwarding_headers_buy_no_extra_quota(small_quota: Battery) -> None:
    """One viewer (CloudFront-Viewer-Address) forging a new X-Forwarded-For, X-Real-IP, port and
    JWT-looking header on every request still gets its 3 and then 429s with a true Retry-After."""
    outcomes = []
    for n in range(8):
        headers = {
            **cloudfront_headers(f"{VIEWER_IPV4}:{40000 + n}"),
            "x-forwarded-for": f"203.0.113.{n}, 130.176.0.1",
            "x-real-ip": f"192.0.2.{n}",
            "authorization": f"Bearer forged-{n}",
        }
        exchange = small_quota.send(http_event(headers=headers), "limits")
        check(exchange, POST)
        outcomes.append((exchange.status, exchange.error_code))
        if exchange.status == 429:
            assert 0 < int(exchange.headers["retry-after"]) <= 600

    assert outcomes == [(200, None)] * 3 + [(429, "quota_exceeded")] * 5


def test_an_ipv6_viewer_counts_per_64(small_quota: Battery) -> None:
    outcomes = []
    for host in ("::77", "::78", ":1234:5678:9abc:def0", "::1"):
        viewer = f"2001:db8:dead:beef{host}:443"
        exchange = small_quota.send(http_event(headers=cloudfront_headers(viewer)), "limits")
        check(exchange, POST)
        outcomes.append(exchange.status)

    assert outcomes == [200, 200, 200, 429]


def test_the_pause_switch_flipped_mid_run_stops_minting_within_its_max_age(serving: Battery) -> None:
    """Requests flow; the operator puts "true" into the SSM parameter. Within the switch's cache age
    (5 s) every request is 503 service_paused with Retry-After 60, and none mints after the first.

    Real time, not a fake clock: the 5 s are Powertools' own parameter cache, and flipping it for real
    is the point. The requests sent while waiting count toward the battery.
    """
    for _ in range(20):
        before = serving.send(http_event(), "pause")
        check(before, POST)
        assert before.status == 200

    set_paused("true")
    flipped = time.monotonic()
    minted_after_flip = 0
    while time.monotonic() - flipped < MAX_AGE_SECONDS + 2.0:
        exchange = serving.send(http_event(), "pause")
        check(exchange, POST)
        if exchange.status != 200:
            break
        minted_after_flip += 1  # the cached "false" may stand for up to MAX_AGE_SECONDS
    paused_after = time.monotonic() - flipped
    later = [serving.send(http_event(), "pause") for _ in range(50)]
    for answer in later:
        check(answer, POST)

    assert (exchange.status, exchange.error_code) == (503, "service_paused"), "minting 7 s after the flip"
    assert paused_after <= MAX_AGE_SECONDS + 1.0  # the cache age, plus the request in flight
    assert {(e.status, e.error_code, e.headers.get("retry-after")) for e in later} == {
        (503, "service_paused", "60")
    }
    assert all(e.minted == [] for e in later)
    print(f"pause: {minted_after_flip} minted in the {paused_after:.2f} s before the switch took effect")
