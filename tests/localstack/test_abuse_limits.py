"""The local stack's abuse limits, end to end: the real handler behind the CloudFront stand-in.

Each visitor is a loopback address (all of 127.0.0.0/8 is loopback here): a client socket bound to
127.0.0.2 is one visitor, 127.0.0.3 another, as CloudFront-Viewer-Address tells the function. Headers
a client sends to pass for someone else change nothing: the stand-in overwrites them as CloudFront does.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from local.stack import StackProcess
from tests.conftest import standin_env

# What a client forges to look like another visitor, or like CloudFront itself.
SPOOFED = {
    "X-Forwarded-For": "203.0.113.77",
    "CloudFront-Viewer-Address": "198.51.100.9:4431",
    "X-Origin-Verify": "guessed-origin-secret-guessed-origin-secret-1234",
    "X-Forwarded-Host": "evil.example",
}


@dataclass
class Answer:
    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def code(self) -> str | None:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error.get("code") if isinstance(error, dict) else None


def mint(
    base_url: str,
    visitor: str = "127.0.0.2",
    headers: Mapping[str, str] | None = None,
    *,
    method: str = "POST",
    path: str = "/api/session",
) -> Answer:
    """One request from the loopback address `visitor`, as a page's fetch of /api/session sends it."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    connection = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=15, source_address=(visitor, 0)
    )
    try:
        body = b"{}" if method == "POST" else None
        connection.request(
            method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})}
        )
        response = connection.getresponse()
        raw = response.read()
        return Answer(response.status, json.loads(raw) if raw else None, dict(response.getheaders()))
    finally:
        connection.close()


@pytest.fixture(scope="module")
def quota_stack() -> Iterator[StackProcess]:
    with StackProcess("--port", "0", env=standin_env(), quota_per_visitor=2) as process:
        yield process


@pytest.fixture(scope="module")
def capped_stack() -> Iterator[StackProcess]:
    with StackProcess("--port", "0", env=standin_env(), daily_cap=3) as process:
        yield process


@pytest.fixture(scope="module")
def paused_stack() -> Iterator[StackProcess]:
    # Generous per-visitor quota: polling the switch mints many times from one address.
    with StackProcess("--port", "0", env=standin_env(), quota_per_visitor=1000, paused=True) as process:
        yield process


def test_the_execute_api_url_refuses_what_did_not_come_through_cloudfront(
    quota_stack: StackProcess,
) -> None:
    plain = mint(quota_stack.execute_api, "127.0.0.9")
    forged = mint(quota_stack.execute_api, "127.0.0.9", SPOOFED)
    other_method = mint(quota_stack.execute_api, "127.0.0.9", method="GET")

    for answer in (plain, forged, other_method):
        assert (answer.status, answer.code) == (403, "forbidden")
        assert answer.body["error"]["message"] == "Forbidden."
    # The same request through the page's URL is served: it is the missing origin header that counts.
    assert mint(quota_stack.url, "127.0.0.9").status == 200


def test_a_visitors_quota_binds_whatever_headers_it_forges(quota_stack: StackProcess) -> None:
    first = mint(quota_stack.url, "127.0.0.2", SPOOFED)
    second = mint(quota_stack.url, "127.0.0.2", {**SPOOFED, "CloudFront-Viewer-Address": "198.51.100.10:1"})
    third = mint(quota_stack.url, "127.0.0.2", {"X-Forwarded-For": "203.0.113.78"})
    fourth = mint(quota_stack.url, "127.0.0.2")
    other_visitor = mint(quota_stack.url, "127.0.0.3")

    assert [first.status, second.status] == [200, 200]
    assert first.body["value"].startswith("ek_")
    for refused in (third, fourth):
        assert (refused.status, refused.code) == (429, "quota_exceeded")
        assert 0 < int(refused.headers["Retry-After"]) <= 600  # the template's default window
    assert other_visitor.status == 200


def test_a_forged_forwarded_host_cannot_make_another_site_look_like_ours(quota_stack: StackProcess) -> None:
    # Were the client's X-Forwarded-Host kept, https://evil.example would match it and be served.
    page_origin = quota_stack.url.rstrip("/")

    foreign = mint(
        quota_stack.url, "127.0.0.4", {"Origin": "https://evil.example", "X-Forwarded-Host": "evil.example"}
    )
    own = mint(quota_stack.url, "127.0.0.5", {"Origin": page_origin, "X-Forwarded-Host": "evil.example"})

    assert (foreign.status, foreign.code) == (403, "cross_site_request")
    assert own.status == 200


def test_the_daily_cap_binds_across_visitors(capped_stack: StackProcess) -> None:
    served = [mint(capped_stack.url, visitor).status for visitor in ("127.0.0.2", "127.0.0.3", "127.0.0.4")]
    refused = mint(capped_stack.url, "127.0.0.5")

    assert served == [200, 200, 200]
    assert (refused.status, refused.code) == (429, "daily_cap_reached")
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    assert abs(int(refused.headers["Retry-After"]) - (midnight - now).total_seconds()) < 30


def _set_pause(stack: StackProcess, value: str) -> None:
    ssm = boto3.client(
        "ssm",
        endpoint_url=stack.ready["aws_endpoint"],
        region_name=stack.ready["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto's fake credentials
    )
    ssm.put_parameter(Name=stack.ready["pause_parameter"], Value=value, Type="String", Overwrite=True)


def _status_within(stack: StackProcess, wanted: int, seconds: float) -> tuple[Answer, float]:
    started = time.monotonic()
    while True:
        answer = mint(stack.url, "127.0.0.6")
        waited = time.monotonic() - started
        if answer.status == wanted or waited > seconds:
            return answer, waited
        time.sleep(0.25)


def test_the_pause_switch_starts_on_with_paused_and_flips_mid_run(paused_stack: StackProcess) -> None:
    paused = mint(paused_stack.url, "127.0.0.6")
    assert (paused.status, paused.code) == (503, "service_paused")
    assert paused.headers["Retry-After"] == "60"

    _set_pause(paused_stack, "false")
    resumed, _ = _status_within(paused_stack, 200, seconds=10)
    assert resumed.status == 200

    _set_pause(paused_stack, "true")
    paused_again, waited = _status_within(paused_stack, 503, seconds=10)
    assert (paused_again.status, paused_again.code) == (503, "service_paused"), f"after {waited:.1f} s"
