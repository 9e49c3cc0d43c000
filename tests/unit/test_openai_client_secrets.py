"""The upstream client's retry budget, with a fake clock: no real waiting, no real network."""

from __future__ import annotations

import httpx
import pytest

from vend.errors import UpstreamRateLimited, UpstreamTimeout, UpstreamUnavailable
from vend.openai_api.client_secrets import ClientSecretsApi
from vend.openai_api.http import OpenAIHttp
from vend.secret_values import OpenAIApiKey

KEY = OpenAIApiKey("sk-unit-test-1111111111111111111111")
OK = {"value": "ek_abcdef0123456789", "expires_at": 4_102_444_800, "session": {"type": "realtime"}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def api(
    responses: list[httpx.Response | Exception], clock: Clock
) -> tuple[ClientSecretsApi, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        outcome = responses.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    client = ClientSecretsApi(
        OpenAIHttp(
            "https://api.openai.com",
            connect_timeout=2,
            read_timeout=4,
            transport=httpx.MockTransport(handle),
            sleep=clock.sleep,
            jitter=lambda: 0.5,
            clock=clock,
        )
    )
    return client, seen


def test_request_shape() -> None:
    clock = Clock()
    client, seen = api([httpx.Response(200, json=OK)], clock)

    minted = client.create(KEY, {"session": {"type": "realtime"}}, deadline=clock.now + 10)

    [request] = seen
    assert request.url == "https://api.openai.com/v1/realtime/client_secrets"
    assert request.headers["authorization"] == f"Bearer {KEY.reveal()}"
    assert request.headers["content-type"] == "application/json"
    assert minted.response_body() == OK
    assert "ek_" not in repr(minted)


def test_retry_after_is_honoured_when_it_fits() -> None:
    clock = Clock()
    limited = httpx.Response(
        429, json={"error": {"code": "rate_limit_exceeded"}}, headers={"retry-after": "2"}
    )
    client, seen = api([limited, httpx.Response(200, json=OK)], clock)

    client.create(KEY, {}, deadline=clock.now + 9.5)

    assert clock.slept == [2.0]
    assert len(seen) == 2


def test_http_date_retry_after_is_understood() -> None:
    clock = Clock()
    limited = httpx.Response(
        429,
        json={"error": {"code": "rate_limit_exceeded"}},
        headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"},
    )
    client, seen = api([limited, httpx.Response(200, json=OK)], clock)

    client.create(KEY, {}, deadline=clock.now + 9.5)

    assert len(seen) == 2
    assert clock.slept == [0.0]  # a date in the past: retry at once


def test_no_retry_when_the_budget_is_spent() -> None:
    clock = Clock()
    client, seen = api([httpx.Response(503), httpx.Response(200, json=OK)], clock)

    with pytest.raises(UpstreamUnavailable):
        client.create(KEY, {}, deadline=clock.now + 2.4)  # less than connect timeout + minimum attempt

    assert len(seen) == 1 and clock.slept == []


def test_no_attempt_without_time_left() -> None:
    clock = Clock()
    client, seen = api([httpx.Response(200, json=OK)], clock)

    with pytest.raises(UpstreamTimeout):
        client.create(KEY, {}, deadline=clock.now + 0.2)

    assert seen == []


def test_at_most_one_retry_with_jitter() -> None:
    clock = Clock()
    client, seen = api([httpx.ConnectError("refused")] * 3, clock)

    with pytest.raises(UpstreamUnavailable):
        client.create(KEY, {}, deadline=clock.now + 10)

    assert len(seen) == 2
    assert clock.slept == [pytest.approx(0.25)]


def test_rate_limit_reported_with_retry_after_seconds() -> None:
    clock = Clock()
    limited = httpx.Response(
        429, json={"error": {"code": "rate_limit_exceeded"}}, headers={"retry-after": "45"}
    )
    client, _ = api([limited], clock)

    with pytest.raises(UpstreamRateLimited) as caught:
        client.create(KEY, {}, deadline=clock.now + 10)

    assert caught.value.headers() == {"Retry-After": "45"}


def test_expired_client_secret_is_malformed() -> None:
    clock = Clock()
    client, _ = api([httpx.Response(200, json={**OK, "expires_at": 1})], clock)

    with pytest.raises(UpstreamUnavailable):
        client.create(KEY, {}, deadline=clock.now + 10)
