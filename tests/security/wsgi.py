"""API Gateway in front of the handler, as a WSGI app: schemathesis sends HTTP, the function gets the
payload 2.0 event API Gateway would build (lowercased headers, cookies apart, base64 for a body that
is not text), and its answer goes back as HTTP. Each exchange is also kept for the battery's checks."""

from __future__ import annotations

import base64
import http
from collections.abc import Callable, Iterable
from typing import Any

from tests.security.harness import VIEWER_IPV4, Battery, Exchange, http_event

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


class ApiGatewayWsgi:
    def __init__(self, battery: Battery, source: str) -> None:
        self.battery = battery
        self.source = source
        self.last: Exchange | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers: dict[str, str] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").lower()] = _text(value)
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = _text(environ[key])
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        content_type = headers.get("content-type", "").lower()
        textual = not content_type or content_type.startswith(_TEXT_TYPES)
        try:
            body = raw.decode("utf-8") if textual else None
        except UnicodeDecodeError:
            body = None
        is_base64 = body is None and bool(raw)
        if is_base64:
            body = base64.b64encode(raw).decode()
        path = _text(environ.get("PATH_INFO") or "/")
        event = http_event(environ["REQUEST_METHOD"], path, headers, body or None, is_base64=is_base64)
        event["rawQueryString"] = _text(environ.get("QUERY_STRING", ""))
        if "cookie" in headers:
            event["cookies"] = [c.strip() for c in headers.pop("cookie").split(";")]
        viewer = headers.get("cloudfront-viewer-address", "")
        event["requestContext"]["http"]["sourceIp"] = VIEWER_IPV4 if VIEWER_IPV4 in viewer else "130.176.0.1"
        exchange = self.battery.send(event, self.source)
        self.last = exchange
        if exchange.exception is not None:
            # What Lambda's error would become at API Gateway; the test reports the exception itself.
            start_response("500 Internal Server Error", [("Content-Type", "application/json")])
            return [b'{"message":"Internal Server Error"}']
        status = exchange.status or 500
        start_response(f"{status} {http.HTTPStatus(status).phrase}", list(exchange.headers.items()))
        return [exchange.body_text.encode()]


def _text(value: str) -> str:
    """WSGI hands text over as latin-1 code points of the raw bytes; API Gateway decodes UTF-8."""
    return value.encode("latin-1").decode("utf-8", "replace")
