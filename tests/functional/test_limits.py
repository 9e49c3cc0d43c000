"""Nobody mints what we did not mean to allow: CloudFront only, our own page only, per-visitor quotas,
a daily cap, a pause switch, and a visitor who is only ever a keyed fingerprint outside the process.

The handler runs in-process on moto (sequential requests); atomicity under concurrency is proven
against dynalite in tests/quota.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import botocore.client
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import load_event
from tests.fakes.openai_upstream import BASE_URL, FakeClientSecrets
from tests.functional.conftest import (
    ORIGIN_VERIFY,
    REQUIRED_ENV,
    HandlerFactory,
    LambdaStdout,
    invoke,
    set_paused,
)

OUR_HOST = "d111111abcdef8.cloudfront.net"  # the events' X-Forwarded-Host


def mint_event(viewer: str = "203.0.113.10:46532", **headers: str | None) -> dict[str, Any]:
    event = load_event("mint")
    event["headers"]["cloudfront-viewer-address"] = viewer
    for name, value in headers.items():
        header = name.replace("_", "-")
        if value is None:
            event["headers"].pop(header, None)
        else:
            event["headers"][header] = value
    return event


@pytest.fixture
def limited(
    cold_start: HandlerFactory, secret_arn: str, upstream: FakeClientSecrets
) -> Callable[..., ModuleType]:
    """A cold start with the given quota limits (the `handler` fixture lifts them out of the way)."""

    def start(**limits: str) -> ModuleType:
        return cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, OPENAI_BASE_URL=BASE_URL, **limits)

    return start


# --- only through CloudFront ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/api/session"), ("GET", "/api/session"), ("GET", "/api/x")]
)
def test_without_the_origin_header_everything_is_a_generic_403(
    handler: ModuleType, upstream: FakeClientSecrets, method: str, path: str
) -> None:
    event = load_event("direct-execute-api")
    event["requestContext"]["http"]["method"] = method
    event["rawPath"] = event["requestContext"]["http"]["path"] = path

    reply = invoke(handler, event)

    # 403 before routing: the execute-api URL tells a prober nothing, not even which paths exist
    assert (reply.status, reply.error_code) == (403, "forbidden")
    assert reply.body["error"]["message"] == "Forbidden."
    assert upstream.requests == []


def test_a_guessed_origin_header_is_refused_and_does_not_hammer_secrets_manager(
    handler: ModuleType, upstream: FakeClientSecrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    origin_reads = count_calls(monkeypatch, "GetSecretValue", "origin-verify")
    replies = [invoke(handler, mint_event(x_origin_verify=f"guess-{n:040d}")) for n in range(20)]

    assert {(r.status, r.error_code) for r in replies} == {(403, "forbidden")}
    assert upstream.requests == []
    # A mismatch may mean a rotation this environment has not seen: one re-read, then no more for 30 s.
    assert origin_reads() <= 1


def test_a_rotation_drops_no_request(handler: ModuleType, upstream: FakeClientSecrets) -> None:
    assert invoke(handler, mint_event()).status == 200
    new_value = "rotated-origin-verify-value-0123456789abcdef0123456789"
    boto3.client("secretsmanager").put_secret_value(
        SecretId=REQUIRED_ENV["ORIGIN_VERIFY_SECRET_ARN"],
        SecretString=json.dumps({"current": new_value, "previous": ORIGIN_VERIFY}),
    )

    # CloudFront's edges switch over one by one: both values work, before and after this environment
    # has seen the new secret (the first new value triggers the one re-read).
    assert invoke(handler, mint_event(x_origin_verify=new_value)).status == 200
    assert invoke(handler, mint_event()).status == 200
    assert invoke(handler, mint_event(x_origin_verify=new_value)).status == 200


# --- our own page only ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"sec_fetch_site": "cross-site"},
        {"sec_fetch_site": "same-site"},
        {"sec_fetch_site": "none"},
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": f"http://{OUR_HOST}"},  # our host over plain http is not our page
        {"origin": f"https://{OUR_HOST}.evil.example"},
        {"origin": "https://evil.example", "sec_fetch_site": None},
    ],
)
def test_another_sites_page_cannot_mint(
    handler: ModuleType, upstream: FakeClientSecrets, headers: dict[str, str | None]
) -> None:
    reply = invoke(handler, mint_event(**headers))

    assert (reply.status, reply.error_code) == (403, "cross_site_request")
    assert upstream.requests == []


def test_a_beacon_from_another_site_is_refused(handler: ModuleType, upstream: FakeClientSecrets) -> None:
    assert invoke(handler, "cross-site-beacon").error_code == "cross_site_request"
    # and the same beacon without the browser's markers (a script) still needs a JSON content type
    reply = invoke(handler, mint_event(origin=None, sec_fetch_site=None, content_type="text/plain"))
    assert (reply.status, reply.error_code) == (415, "unsupported_media_type")
    assert upstream.requests == []


def test_our_page_and_a_script_without_browser_markers_mint(handler: ModuleType) -> None:
    assert invoke(handler, mint_event()).status == 200  # Origin ours, Sec-Fetch-Site same-origin
    assert (
        invoke(handler, mint_event(origin=None, sec_fetch_site=None)).status == 200
    )  # the quota guards this


# --- who is asking ------------------------------------------------------------------------------


def test_spoofed_forwarding_headers_do_not_change_the_visitor(
    limited: Callable[..., ModuleType], upstream: FakeClientSecrets
) -> None:
    module = limited(QUOTA_PER_VISITOR="2")
    spoofs = [
        {"x_forwarded_for": "198.51.100.1"},
        {"x_forwarded_for": "198.51.100.2, 130.176.0.1"},
        {"x_real_ip": "198.51.100.3", "forwarded": "for=198.51.100.3"},
    ]
    statuses = [invoke(module, mint_event(**spoof)).status for spoof in spoofs]

    assert statuses == [200, 200, 429]
    assert len(set(upstream.safety_identifiers)) == 1


def test_an_ipv6_visitor_counts_per_64(limited: Callable[..., ModuleType]) -> None:
    module = limited(QUOTA_PER_VISITOR="2")
    same_64 = ["2001:db8:1:2::1:443", "2001:db8:1:2:ffff:ffff:ffff:ffff:50000", "2001:db8:1:2:a::b:1"]

    statuses = [invoke(module, mint_event(viewer=address)).status for address in same_64]

    assert statuses == [200, 200, 429]
    assert invoke(module, mint_event(viewer="2001:db8:1:3::1:443")).status == 200  # the next /64


def test_a_signed_in_subject_is_the_visitor(
    limited: Callable[..., ModuleType], upstream: FakeClientSecrets
) -> None:
    module = limited(QUOTA_PER_VISITOR="1")
    alice, bob = load_event("mint-signed-in"), load_event("mint-signed-in")
    bob["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = "bob"

    # Two people behind one address each get their own quota
    assert [invoke(module, alice).status, invoke(module, bob).status, invoke(module, alice).status] == [
        200,
        200,
        429,
    ]
    assert len(set(upstream.safety_identifiers)) == 2


SIGNED_IN_ISSUER = load_event("mint-signed-in")["requestContext"]["authorizer"]["jwt"]["claims"]["iss"]


def test_signed_in_mode_mints_only_for_a_subject_of_its_issuer(
    limited: Callable[..., ModuleType], upstream: FakeClientSecrets
) -> None:
    module = limited(AUTH_ISSUER=SIGNED_IN_ISSUER)
    stranger = load_event("mint-signed-in")
    stranger["requestContext"]["authorizer"]["jwt"]["claims"]["iss"] = "https://issuer.example.net"

    signed_in, anonymous, foreign = (
        invoke(module, e) for e in (load_event("mint-signed-in"), mint_event(), stranger)
    )

    assert signed_in.status == 200
    # Reached around the authorizer (or through an API without one): refused, never counted by address
    for reply in (anonymous, foreign):
        assert (reply.status, reply.error_code) == (401, "sign_in_required")
        assert reply.headers["www-authenticate"].startswith("Bearer")
        assert "Sign in" in reply.body["error"]["message"]
    assert len(upstream.requests) == 1


def test_an_issuer_that_is_not_an_https_url_stops_the_function(limited: Callable[..., ModuleType]) -> None:
    module = limited(AUTH_ISSUER="issuer.example.com")

    reply = invoke(module, load_event("mint-signed-in"))

    assert (reply.status, reply.error_code) == (500, "server_misconfigured")


def test_openai_gets_a_keyed_fingerprint_never_the_address(
    handler: ModuleType, upstream: FakeClientSecrets, stdout: LambdaStdout
) -> None:
    invoke(handler, mint_event(viewer="198.51.100.77:1234"))
    invoke(handler, mint_event(viewer="198.51.100.77:9999"))
    invoke(handler, mint_event(viewer="198.51.100.78:1234"))

    first, again, other = upstream.safety_identifiers
    assert first == again != other
    assert first is not None and len(first) == 22 and "198.51" not in first
    logged = stdout.buffer.getvalue().decode()
    assert "198.51.100.77" not in logged and "198.51.100.78" not in logged
    assert [line["visitor"] for line in stdout.request_lines()] == [first, first, other]


def test_a_missing_viewer_address_is_a_misconfigured_distribution(handler: ModuleType) -> None:
    reply = invoke(handler, mint_event(cloudfront_viewer_address=None))

    assert (reply.status, reply.error_code) == (500, "server_misconfigured")


# --- quotas -------------------------------------------------------------------------------------


def test_a_visitor_past_the_quota_is_told_when_to_come_back(limited: Callable[..., ModuleType]) -> None:
    module = limited(QUOTA_PER_VISITOR="2", QUOTA_WINDOW_SECONDS="600")

    replies = [invoke(module, mint_event()) for _ in range(3)]

    assert [r.status for r in replies] == [200, 200, 429]
    refused = replies[2]
    assert refused.error_code == "quota_exceeded"
    retry_after = int(refused.headers["retry-after"])
    now = dt.datetime.now(dt.UTC).timestamp()
    assert retry_after == pytest.approx(600 - now % 600, abs=2)  # the true end of the window
    assert refused.body["error"]["message"].startswith("You have started 2 sessions in 10 minutes")
    assert "You can start another in" in refused.body["error"]["message"]
    # another visitor is unaffected
    assert invoke(module, mint_event(viewer="192.0.2.1:1")).status == 200


def test_the_daily_cap_binds_the_whole_stack(limited: Callable[..., ModuleType]) -> None:
    module = limited(QUOTA_PER_VISITOR="10", DAILY_CAP="3")

    statuses = [invoke(module, mint_event(viewer=f"192.0.2.{n}:1")).status for n in range(1, 5)]

    assert statuses == [200, 200, 200, 429]
    refused = invoke(module, mint_event(viewer="192.0.2.99:1"))
    assert refused.error_code == "daily_cap_reached"
    now = dt.datetime.now(dt.UTC)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
    assert int(refused.headers["retry-after"]) == pytest.approx((midnight - now).total_seconds(), abs=2)
    assert "00:00 UTC" in refused.body["error"]["message"]


def test_a_failed_mint_gives_its_count_back(
    limited: Callable[..., ModuleType], upstream: FakeClientSecrets
) -> None:
    module = limited(QUOTA_PER_VISITOR="1")
    upstream.then(httpx.Response(500, json={"error": {"code": "server_error"}}))
    upstream.then(httpx.Response(500, json={"error": {"code": "server_error"}}))  # the one retry too

    assert invoke(module, mint_event()).status == 502
    # OpenAI's outage did not spend the visitor's only mint
    assert invoke(module, mint_event()).status == 200
    assert invoke(module, mint_event()).status == 429


def test_a_throttled_quota_table_fails_closed(
    limited: Callable[..., ModuleType],
    upstream: FakeClientSecrets,
    stdout: LambdaStdout,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = limited()
    # a mint is conditional updates, no transaction (docs/limits.md, "Counters under load")
    fail_operation(monkeypatch, "UpdateItem", "ProvisionedThroughputExceededException")

    reply = invoke(module, mint_event())

    assert (reply.status, reply.error_code) == (503, "quota_unavailable")
    assert reply.headers["retry-after"] == "2"
    assert upstream.requests == []  # nothing minted without a count
    [line] = stdout.request_lines()
    assert line["reason"] == "dynamodb_ProvisionedThroughputExceededException"  # the log says why


# --- the pause switch -----------------------------------------------------------------------------


def test_paused_refuses_every_request_with_a_sentence(
    cold_start: HandlerFactory, secret_arn: str, upstream: FakeClientSecrets
) -> None:
    set_paused("true")
    module = cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, OPENAI_BASE_URL=BASE_URL)

    for event in ("mint", "unknown-path", "wrong-method"):
        reply = invoke(module, event)
        assert (reply.status, reply.error_code) == (503, "service_paused"), event
        assert reply.headers["retry-after"] == "60"
    assert "paused by its operators" in reply.body["error"]["message"]
    assert upstream.requests == []


def test_resuming_takes_effect_within_the_cache(
    cold_start: HandlerFactory, secret_arn: str, upstream: FakeClientSecrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_paused("true")
    module = cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, OPENAI_BASE_URL=BASE_URL)
    assert invoke(module, "mint").status == 503

    set_paused("false")
    # Powertools caches the parameter for 5 s: let that time pass without sleeping
    import aws_lambda_powertools.utilities.parameters.base as parameters_base

    later = dt.datetime.now() + dt.timedelta(seconds=6)
    monkeypatch.setattr(parameters_base, "datetime", _FrozenDatetime(later))

    assert invoke(module, "mint").status == 200


def test_a_typo_in_the_switch_pauses(cold_start: HandlerFactory, secret_arn: str) -> None:
    set_paused("ture")
    module = cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, OPENAI_BASE_URL=BASE_URL)

    assert invoke(module, "mint").error_code == "service_paused"


# --- helpers --------------------------------------------------------------------------------------


class _FrozenDatetime:
    """Stands in for the `datetime` class Powertools' cache reads `now()` from."""

    def __init__(self, moment: dt.datetime) -> None:
        self._moment = moment

    def now(self, tz: dt.tzinfo | None = None) -> dt.datetime:
        return self._moment if tz is None else self._moment.astimezone(tz)

    def __getattr__(self, name: str) -> Any:
        return getattr(dt.datetime, name)


def count_calls(monkeypatch: pytest.MonkeyPatch, operation: str, secret_fragment: str) -> Callable[[], int]:
    """Counts `operation` calls on the secret whose id contains `secret_fragment`."""
    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def spy(self: Any, operation_name: str, params: dict[str, Any]) -> Any:
        if operation_name == operation and secret_fragment in str(params.get("SecretId")):
            calls.append(operation_name)
        return original(self, operation_name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    return lambda: len(calls)


def fail_operation(monkeypatch: pytest.MonkeyPatch, operation: str, code: str) -> None:
    """Every `operation` call fails with `code`, as AWS would answer it."""
    original = botocore.client.BaseClient._make_api_call

    def failing(self: Any, operation_name: str, params: dict[str, Any]) -> Any:
        if operation_name == operation:
            raise ClientError({"Error": {"Code": code, "Message": "Rate exceeded"}}, operation_name)
        return original(self, operation_name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", failing)
