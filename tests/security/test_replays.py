"""Replays and forgeries, one by one: a captured origin header sent where it does not belong, foreign
`Origin` and `Sec-Fetch-Site` values, CloudFront's headers in shapes it never writes. Each is refused
the documented way, mints nothing, and leaks nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.harness import (
    OUR_HOST,
    VIEWER_IPV4,
    VIEWER_IPV6,
    Battery,
    Exchange,
    check,
    cloudfront_headers,
    documented_responses,
    http_event,
    operation_for,
)

SOURCE = "replays"


def send(battery: Battery, event: dict[str, Any]) -> Exchange:
    http = event["requestContext"]["http"]
    exchange = battery.send(event, SOURCE)
    check(exchange, documented_responses(*operation_for(http["path"], http["method"])))
    return exchange


def without(headers: dict[str, str], *names: str) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name not in names}


def test_the_page_itself_mints(battery: Battery) -> None:
    # The control for everything below: the same headers, unchanged, do mint.
    exchange = send(battery, http_event(body='{"voice":"cedar"}'))

    assert exchange.status == 200
    assert len(exchange.minted) == 1


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("POST", "/api/session/", 404, "not_found"),
        ("POST", "/api/sessions", 404, "not_found"),
        ("POST", "/api/Session", 404, "not_found"),
        ("POST", "/api/", 404, "not_found"),
        ("POST", "/", 404, "not_found"),
        ("POST", "/api/session/../admin", 404, "not_found"),
        ("GET", "/api/session", 405, "method_not_allowed"),
        ("PUT", "/api/session", 405, "method_not_allowed"),
        ("DELETE", "/api/session", 405, "method_not_allowed"),
        ("OPTIONS", "/api/session", 405, "method_not_allowed"),
        ("PROPFIND", "/api/session", 405, "method_not_allowed"),
        ("GET", "/api/other", 404, "not_found"),
    ],
)
def test_a_captured_origin_header_replayed_elsewhere_mints_nothing(
    battery: Battery, method: str, path: str, status: int, code: str
) -> None:
    calls = len(battery.upstream.requests)
    body = '{"voice":"marin"}'

    with_header = send(battery, http_event(method, path, cloudfront_headers(), body))
    without_header = send(
        battery, http_event(method, path, without(cloudfront_headers(), "x-origin-verify"), body)
    )

    assert (with_header.status, with_header.error_code) == (status, code)
    assert (without_header.status, without_header.error_code) == (403, "forbidden")
    assert without_header.body == {"error": {"code": "forbidden", "message": "Forbidden."}}
    assert len(battery.upstream.requests) == calls, "a replay reached OpenAI"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "events-origin-verify-not-a-real-secret-0123456789abcdeF",
        "EVENTS-ORIGIN-VERIFY-NOT-A-REAL-SECRET-0123456789ABCDEF",
        " events-origin-verify-not-a-real-secret-0123456789abcdef",
        "events-origin-verify-not-a-real-secret-0123456789abcdef, x",
        "events-origin-verify-not-a-real-secret-0123456789abcde",
    ],
)
def test_a_near_miss_of_the_origin_header_is_forbidden_on_the_real_route(
    battery: Battery, value: str
) -> None:
    headers = {**cloudfront_headers(), "x-origin-verify": value}

    exchange = send(battery, http_event(headers=headers))

    assert (exchange.status, exchange.error_code) == (403, "forbidden")
    assert exchange.minted == []


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        f"http://{OUR_HOST}",
        f"https://{OUR_HOST}.evil.example",
        f"https://{OUR_HOST}/",
        f"https://{OUR_HOST}/api/session",
        f"https://{OUR_HOST}?x=1",
        f"https://{OUR_HOST}:8443",
        f"https://evil.example@{OUR_HOST}",
        f"https://{OUR_HOST}@evil.example",
        "",
    ],
)
def test_a_foreign_origin_is_a_cross_site_request(battery: Battery, origin: str) -> None:
    exchange = send(battery, http_event(headers={**cloudfront_headers(), "origin": origin}))

    assert (exchange.status, exchange.error_code) == (403, "cross_site_request")
    assert exchange.minted == []


@pytest.mark.parametrize("site", ["cross-site", "same-site", "none", "", "same-origin, cross-site"])
def test_sec_fetch_site_other_than_same_origin_is_a_cross_site_request(battery: Battery, site: str) -> None:
    exchange = send(battery, http_event(headers={**cloudfront_headers(), "sec-fetch-site": site}))

    assert (exchange.status, exchange.error_code) == (403, "cross_site_request")
    assert exchange.minted == []


@pytest.mark.parametrize(
    "forged",
    [
        # X-Forwarded-For and the like are a viewer's to write: they change nothing.
        {"x-forwarded-for": "127.0.0.1"},
        {"x-forwarded-for": f"{VIEWER_IPV6}, 10.0.0.1"},
        {"x-real-ip": "10.0.0.1", "true-client-ip": "10.0.0.2", "forwarded": "for=10.0.0.3"},
        # Without Origin the forwarded host is never consulted.
        {"x-forwarded-host": "evil.example"},
    ],
)
def test_forwarded_headers_a_viewer_writes_change_nothing(battery: Battery, forged: dict[str, str]) -> None:
    headers = {**without(cloudfront_headers(), "origin"), **forged}

    exchange = send(battery, http_event(headers=headers))

    assert exchange.status == 200


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        # Origin names another host than the one CloudFront says the viewer asked for.
        ({"x-forwarded-host": "evil.example"}, 403, "cross_site_request"),
        ({"x-forwarded-host": f"{OUR_HOST}.evil.example"}, 403, "cross_site_request"),
        # CloudFront's headers in shapes it never writes: the deployment is wrong, not the viewer.
        ({"x-forwarded-host": ""}, 500, "server_misconfigured"),
        ({"cloudfront-viewer-address": ""}, 500, "server_misconfigured"),
        ({"cloudfront-viewer-address": VIEWER_IPV4}, 500, "server_misconfigured"),
        ({"cloudfront-viewer-address": f"{VIEWER_IPV4}:443, 203.0.113.9:1"}, 500, "server_misconfigured"),
        ({"cloudfront-viewer-address": "not-an-address:443"}, 500, "server_misconfigured"),
        # CloudFront's own forms, IPv4 and IPv6 (no brackets) and IPv4-mapped IPv6: served.
        ({"cloudfront-viewer-address": f"{VIEWER_IPV6}:443"}, 200, None),
        ({"cloudfront-viewer-address": f"::ffff:{VIEWER_IPV4}:1"}, 200, None),
    ],
)
def test_cloudfront_headers_forged_or_malformed(
    battery: Battery, headers: dict[str, str], status: int, code: str | None
) -> None:
    exchange = send(battery, http_event(headers={**cloudfront_headers(), **headers}))

    assert (exchange.status, exchange.error_code) == (status, code)
    assert len(exchange.minted) == (1 if status == 200 else 0)


@pytest.mark.parametrize("missing", ["rawPath", "requestContext", "requestContext.http.method"])
def test_an_event_without_the_route_fields_gets_our_json(battery: Battery, missing: str) -> None:
    event = http_event()
    *parents, leaf = missing.split(".")
    node = event
    for parent in parents:
        node = node[parent]
    del node[leaf]

    exchange = battery.send(event, SOURCE)

    assert exchange.exception is None
    assert exchange.status is not None
    assert exchange.error_code is not None
    assert VIEWER_IPV4 not in exchange.logs
