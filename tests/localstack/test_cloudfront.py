"""The CloudFront stand-in hands the function exactly what the deployed distribution would.

A recording handler behind the real LambdaAdapter sees the event; clients connect from other loopback
addresses (all of 127.0.0.0/8 is loopback) so the viewer's address differs from the server's.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aiohttp import web

from local.cloudfront import CloudFrontStandin
from local.lambda_adapter import LambdaAdapter

ORIGIN_HOST = "abcdef1234.execute-api.localhost:9"
SECRET = "s" * 48
OK = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


def _post(server: str, port: int, client: str, headers: Mapping[str, str]) -> int:
    """A blocking POST from `client`'s address; returns the client's port (the viewer's)."""
    connection = http.client.HTTPConnection(server, port, timeout=10, source_address=(client, 0))
    try:
        connection.connect()
        client_port = int(connection.sock.getsockname()[1])
        connection.request("POST", "/api/session", body=b"{}", headers=dict(headers))
        response = connection.getresponse()
        assert response.status == 200, response.read()
        return client_port
    finally:
        connection.close()


def _ask(
    headers: Mapping[str, str], *, server: str = "127.0.0.1", client: str = "127.0.0.2"
) -> tuple[dict[str, Any], int]:
    """POSTs /api/session through the stand-in from `client`; the event the function got, our port."""
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], _: Any) -> Mapping[str, Any]:
        seen.append(event)
        return OK

    adapter = LambdaAdapter(handler, ("POST /api/session",))
    cloudfront = CloudFrontStandin(adapter.handle, origin_host=ORIGIN_HOST, origin_verify=SECRET)

    async def main() -> int:
        app = web.Application()
        app.router.add_route("*", "/api/{tail:.*}", cloudfront.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, server, 0).start()
            port = int(runner.addresses[0][1])
            return await asyncio.to_thread(_post, server, port, client, headers)
        finally:
            await runner.cleanup()

    # In a thread of its own: in a run with the browser suite, Playwright's sync API keeps an event
    # loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        client_port = pool.submit(asyncio.run, main()).result()
    assert len(seen) == 1
    return seen[0], client_port


def test_the_function_sees_cloudfronts_three_headers_and_never_the_clients_copies() -> None:
    spoofed = {
        "x-origin-verify": "guessed",
        "CLOUDFRONT-VIEWER-ADDRESS": "203.0.113.7:443",
        "X-Forwarded-Host": "evil.example",
        "Host": "page.example:8443",
        "Content-Type": "application/json",
    }

    event, client_port = _ask(spoofed)

    headers = event["headers"]
    assert headers["x-origin-verify"] == SECRET
    assert headers["cloudfront-viewer-address"] == f"127.0.0.2:{client_port}"
    assert headers["x-forwarded-host"] == "page.example:8443"  # the Host the viewer connected with
    # one value each: no comma-joined remnant of the client's copy
    assert "guessed" not in str(event)
    assert "203.0.113.7" not in str(event)
    assert "evil.example" not in str(event)


def test_everything_else_is_forwarded_as_all_viewer_except_host_header() -> None:
    sent = {
        "Origin": "http://page.example",
        "Sec-Fetch-Site": "same-origin",
        "Authorization": "Bearer abc",
        "Content-Type": "application/json",
        "X-Custom": "kept",
        "X-Forwarded-For": "198.51.100.1",
    }

    event, _ = _ask(sent)

    headers = event["headers"]
    for name, value in sent.items():
        if name != "X-Forwarded-For":
            assert headers[name.lower()] == value
    assert headers["host"] == ORIGIN_HOST  # the origin's own domain, not the viewer's Host
    assert event["requestContext"]["domainName"] == ORIGIN_HOST
    # CloudFront appends the viewer, API Gateway its own peer (CloudFront's edge, here the server)
    assert headers["x-forwarded-for"] == "198.51.100.1, 127.0.0.2, 127.0.0.1"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert headers["via"].endswith(".cloudfront.net (CloudFront)")
    assert headers["x-amz-cf-id"]


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_an_ipv6_viewer_address_has_no_brackets() -> None:
    event, client_port = _ask({"Content-Type": "application/json"}, server="::1", client="::1")

    assert event["headers"]["cloudfront-viewer-address"] == f"::1:{client_port}"
