"""The battery's bench: the real handler in-process (moto, the strict OpenAI fake), every exchange
checked the same way, whoever generated it.

`Battery.send(event)` invokes the handler as Lambda does and returns an `Exchange` with what the caller
got and every log line the invocation wrote. `problems(exchange, documented)` lists what is wrong with
it: an undocumented status, an exception, a body that is not our JSON (or, for a started call, not the
SDP answer with its Location and Call-Ends-At), or a leak (the API key, a client secret outside its
own 200 body, OpenAI's `rtc_` call id, the origin secret, the visitor key, a raw viewer address, the
account id, a traceback) in the response or in any log line.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO, FakeLambdaContext
from tests.fakes.openai_upstream import ANSWER_SDP, FakeCalls, FakeClientSecrets
from tests.functional.conftest import KEY, ORIGIN_VERIFY, ROTATED_KEY, VISITOR_KEY

OPENAPI = REPO / "openapi.yaml"
OUR_HOST = "d111111abcdef8.cloudfront.net"
# Distinctive viewer addresses: nothing else in a request or the function contains them, so any
# occurrence in a response or a log line is the raw address leaking.
VIEWER_IPV4 = "198.51.100.77"
VIEWER_IPV6 = "2001:db8:dead:beef::77"
VIEWER_IPV6_PREFIX = "2001:db8:dead:beef"  # the /64 is the IPv6 identity: as private as the address
SUBJECT = "subject-7f3c9a1e-jwt-sub-not-for-logs"
ACCOUNT_ID = "123456789012"
ORIGIN_VERIFY_PREVIOUS = "previous-origin-verify-value-not-accepted-any-more-0123"
# More visitors for the call routes (each has its own concurrent-call slots), as distinctive.
CALLER_IPV4S = ("192.0.2.141", "192.0.2.142", "192.0.2.143", "192.0.2.144")
CALLER_IPV6 = "2001:db8:cafe:f00d::9"
CALLER_IPV6_PREFIX = "2001:db8:cafe:f00d"

# What no response header or body and no log line may ever contain.
NEEDLES = {
    "the API key": KEY,
    "the rotated API key": ROTATED_KEY,
    "the origin secret": ORIGIN_VERIFY,
    "the visitor key": VISITOR_KEY,
    "the viewer's IPv4 address": VIEWER_IPV4,
    "the viewer's IPv6 address or /64": VIEWER_IPV6_PREFIX,
    "the JWT subject": SUBJECT,
    **{f"a caller's IPv4 address ({ip})": ip for ip in CALLER_IPV4S},
    "a caller's IPv6 address or /64": CALLER_IPV6_PREFIX,
    "the account id": ACCOUNT_ID,
    "a traceback": "Traceback (most recent call last)",
}
_CLIENT_SECRET = re.compile(r"ek_[A-Za-z0-9_\-]{4,}")
_API_KEY_SHAPE = re.compile(r"sk-[A-Za-z0-9_\-]{16,}")
# OpenAI's call id (the fake's: rtc_ + 32 hex) is server-side only: with it and the key, the call is ours.
_OPENAI_CALL_ID = re.compile(r"rtc_[0-9a-f]{32}")
_OUR_CALL_LOCATION = re.compile(r"/api/call/call_[0-9a-f]{32}")

# Requests sent per source, for the session summary (conftest) and the >= 2000 floor.
REQUESTS: Counter[str] = Counter()
FINDINGS: Counter[str] = Counter()
STATUSES: Counter[tuple[int | None, str | None]] = Counter()


@dataclass
class Exchange:
    event: Any
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body_text: str = ""
    body: Any = None
    logs: str = ""
    exception: BaseException | None = None
    minted: list[str] = field(default_factory=list)  # client secrets the fake OpenAI minted for it
    opened: int = 0  # calls the fake OpenAI opened for it
    hung_up: int = 0  # hangups it sent to the fake OpenAI

    @property
    def error_code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            code = self.body["error"].get("code")
            return code if isinstance(code, str) else None
        return None

    def describe(self) -> str:
        event = (
            json.dumps(self.event, default=str)[:1500] if isinstance(self.event, dict) else repr(self.event)
        )
        return f"event={event}\nstatus={self.status} headers={self.headers} body={self.body_text[:500]}"


class LogCapture:
    """Every line the function writes: its Powertools logger's stdout, and any other logger's record."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self._records = io.StringIO()
        self._root_handler = logging.StreamHandler(self._records)
        self._root_handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self._swapped: list[tuple[logging.StreamHandler[Any], Any]] = []

    def start(self) -> None:
        for handler in logging.getLogger("realtime-vend").handlers:
            if isinstance(handler, logging.StreamHandler):
                self._swapped.append((handler, handler.setStream(self.stream)))
        assert self._swapped, "the function logger has no stream handler"
        logging.getLogger().addHandler(self._root_handler)

    def stop(self) -> None:
        logging.getLogger().removeHandler(self._root_handler)
        for handler, previous in self._swapped:
            handler.setStream(previous)
        self._swapped.clear()

    def take(self) -> str:
        text = self.stream.getvalue() + self._records.getvalue()
        for buffer in (self.stream, self._records):
            buffer.seek(0)
            buffer.truncate()
        return text


class Battery:
    def __init__(self, module: Any, upstream: FakeClientSecrets, logs: LogCapture, calls: FakeCalls) -> None:
        self.module = module
        self.upstream = upstream
        self.logs = logs
        self.calls = calls

    def send(self, event: Any, source: str) -> Exchange:
        REQUESTS[source] += 1
        exchange = Exchange(event)
        minted_before = len(self.upstream.minted)
        offers_before, hangups_before = len(self.calls.offers), len(self.calls.hangups)
        stdout, stderr = sys.stdout, sys.stderr
        printed = io.StringIO()
        sys.stdout = sys.stderr = printed  # a stray print() is a log line too
        try:
            raw = self.module.lambda_handler(event, FakeLambdaContext())
        except BaseException as exc:
            exchange.exception = exc
            raw = None
        finally:
            sys.stdout, sys.stderr = stdout, stderr
        exchange.logs = self.logs.take() + printed.getvalue()
        exchange.minted = self.upstream.minted[minted_before:]
        exchange.opened = len(self.calls.offers) - offers_before
        exchange.hung_up = len(self.calls.hangups) - hangups_before
        if isinstance(raw, dict):
            exchange.status = raw.get("statusCode")
            exchange.headers = {str(k).lower(): str(v) for k, v in (raw.get("headers") or {}).items()}
            text = raw.get("body") or ""
            if raw.get("isBase64Encoded"):
                text = base64.b64decode(text).decode("utf-8", "replace")
            exchange.body_text = text
            try:
                exchange.body = json.loads(text) if text else None
            except ValueError:
                exchange.body = None
        return exchange


class Documented(dict[int, set[str] | None]):
    """One operation of openapi.yaml: status -> error codes (None for a success), and the `Allow` its
    405 sends (None when it has no 405)."""

    allow: str | None = None


def problems(exchange: Exchange, documented: Documented) -> list[str]:
    """Everything wrong with one exchange against the operation openapi.yaml documents for it."""
    found: list[str] = []
    if exchange.exception is not None:
        found.append(f"exception escaped the handler: {type(exchange.exception).__name__}")
        return found
    status = exchange.status
    if status not in documented:
        found.append(f"undocumented status {status}")
    elif status == 201:
        found += _started_call_problems(exchange)
    elif status == 204:
        if exchange.body_text or exchange.opened:
            found.append(f"204 with a body or a call opened: {exchange.body_text[:200]!r}")
    elif status != 200:
        code = exchange.error_code
        message = exchange.body["error"].get("message") if exchange.error_code else None
        if code is None or not isinstance(message, str) or not message:
            found.append(f"{status} without a JSON error.code/error.message: {exchange.body_text[:200]!r}")
        elif code not in (documented[status] or set()):
            found.append(f"{status} with undocumented code {code!r}")
        if code == "internal_error":
            found.append("500 internal_error: an exception inside the handler")
    elif not isinstance(exchange.body, dict) or not str(exchange.body.get("value", "")).startswith("ek_"):
        found.append(f"200 without a client secret: {exchange.body_text[:200]!r}")
    if status not in (201, 204) and exchange.headers.get("content-type") != "application/json":
        found.append(f"content-type {exchange.headers.get('content-type')!r}")
    if status != 201 and exchange.opened > exchange.hung_up:
        found.append(f"{status} {exchange.error_code} but a call was opened at OpenAI and not hung up")
    if exchange.headers.get("cache-control") != "no-store":
        found.append(f"cache-control {exchange.headers.get('cache-control')!r}")
    retry_after = exchange.headers.get("retry-after", "")
    if exchange.error_code in RETRY_AFTER_CODES and not re.fullmatch(r"[1-9][0-9]*", retry_after):
        found.append(f"{exchange.error_code} without a Retry-After: {exchange.headers}")
    if status == 405 and exchange.headers.get("allow") != documented.allow:
        found.append(f"405 with Allow {exchange.headers.get('allow')!r}, not {documented.allow!r}")
    if '"message":"request"' not in exchange.logs:
        # Without its one log line the leak check below would pass on nothing.
        found.append("no request log line was captured")
    found += leaks(exchange)
    return found


def _started_call_problems(exchange: Exchange) -> list[str]:
    found = []
    if exchange.headers.get("content-type", "").split(";")[0] != "application/sdp":
        found.append(f"201 with content-type {exchange.headers.get('content-type')!r}")
    if exchange.body_text != ANSWER_SDP:
        found.append(f"201 whose body is not OpenAI's SDP answer: {exchange.body_text[:200]!r}")
    if not _OUR_CALL_LOCATION.fullmatch(exchange.headers.get("location", "")):
        found.append(f"201 with Location {exchange.headers.get('location')!r}")
    if not re.fullmatch(r"[0-9]+", exchange.headers.get("call-ends-at", "")):
        found.append(f"201 with Call-Ends-At {exchange.headers.get('call-ends-at')!r}")
    if exchange.opened != 1:
        found.append(f"201 after {exchange.opened} calls opened at OpenAI")
    return found


RETRY_AFTER_CODES = frozenset(
    {
        "concurrent_calls",
        "call_cap_unavailable",
        "quota_exceeded",
        "daily_cap_reached",
        "service_paused",
        "quota_unavailable",
        "temporarily_unavailable",
        "secrets_unavailable",
        "upstream_rate_limited",
    }
)


def leaks(exchange: Exchange) -> list[str]:
    found: list[str] = []
    response_headers = json.dumps(exchange.headers)
    # The one place a client secret belongs: the `value` of the 200 that minted it.
    body = exchange.body_text
    if exchange.status == 200 and isinstance(exchange.body, dict):
        value = exchange.body.get("value")
        if value not in exchange.minted:
            found.append("a 200 whose client secret is not the one minted for this request")
        body = json.dumps({k: v for k, v in exchange.body.items() if k != "value"})
    for where, text in (("response headers", response_headers), ("response body", body)):
        found += [f"{what} in the {where}" for what, needle in NEEDLES.items() if needle in text]
        if _CLIENT_SECRET.search(text):
            found.append(f"a client secret (ek_) in the {where}")
        if _API_KEY_SHAPE.search(text):
            found.append(f"an sk- key in the {where}")
        if _OPENAI_CALL_ID.search(text):
            found.append(f"OpenAI's call id (rtc_) in the {where}")
    logs = exchange.logs
    found += [f"{what} in a log line" for what, needle in NEEDLES.items() if needle in logs]
    if _CLIENT_SECRET.search(logs):
        found.append("a client secret (ek_) in a log line")
    if _API_KEY_SHAPE.search(logs):
        found.append("an sk- key in a log line")
    if _OPENAI_CALL_ID.search(logs):
        found.append("OpenAI's call id (rtc_) in a log line")
    for minted in exchange.minted:
        if minted in logs:
            found.append("the minted client secret in a log line")
    return found


def check(exchange: Exchange, documented: Documented) -> None:
    STATUSES[exchange.status, exchange.error_code] += 1
    found = problems(exchange, documented)
    for finding in found:
        FINDINGS[finding.split(":")[0]] += 1
    assert not found, "\n".join(found) + "\n" + exchange.describe()


# --- what openapi.yaml documents ---------------------------------------------------------------------

OPENAPI_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@cache
def spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(Path(OPENAPI).read_text())
    return document


def resolve(node: Any) -> Any:
    """Follow `$ref`s (local ones only) until a node that is not a reference."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def codes_in(schema: Any) -> set[str]:
    """The error codes a response schema allows: every `const`/`enum` under error.code."""
    schema = resolve(schema)
    found: set[str] = set()
    if isinstance(schema, dict):
        for part in schema.get("allOf", []):
            found |= codes_in(part)
        code = schema.get("properties", {}).get("error", {}).get("properties", {}).get("code", {})
        if "const" in code:
            found.add(code["const"])
        found |= set(code.get("enum", []))
    return found


def error_schema(response: Any) -> Any:
    """The JSON schema of a response, or None for one without a JSON body (201's SDP, 204)."""
    return resolve(response).get("content", {}).get("application/json", {}).get("schema")


@cache
def documented_responses(path: str, method: str) -> Documented:
    """One operation of openapi.yaml, as `Documented`."""
    operation = spec()["paths"][path][method]
    result = Documented()
    for status, reference in operation["responses"].items():
        schema = error_schema(reference)
        result[int(status)] = None if int(status) < 300 else codes_in(schema)
        if int(status) == 405:
            result.allow = resolve(resolve(reference)["headers"]["Allow"])["schema"]["const"]
    return result


_CALL = re.compile(r"/api/call/[^/]+")


def operation_for(path: object, method: object) -> tuple[str, str]:
    """Which documented operation a request is, as the contract routes it: /api/session, /api/call,
    /api/warm and /api/call/<anything but a slash>; any other method on them is the 405 family, any
    other path the 404 family."""
    # The function (Powertools' router) matches methods case-insensitively: "post" is POST.
    method_name = method.lower() if isinstance(method, str) else ""
    # A method OpenAPI cannot name (QUERY, say) is answered as TRACE is: no path serves TRACE.
    method_name = method_name if method_name in OPENAPI_METHODS else "trace"
    if path in ("/api/session", "/api/call", "/api/warm"):
        return str(path), method_name
    if isinstance(path, str) and _CALL.fullmatch(path):
        return "/api/call/{id}", method_name
    return "/api/{path}", method_name


def new_request_id() -> str:
    return str(uuid.uuid4())


# --- events --------------------------------------------------------------------------------------------


def cloudfront_headers(viewer: str = f"{VIEWER_IPV4}:443") -> dict[str, str]:
    """What our distribution adds to every /api request, and what our own page sends beside it."""
    return {
        "x-origin-verify": ORIGIN_VERIFY,
        "cloudfront-viewer-address": viewer,
        "x-forwarded-host": OUR_HOST,
        "origin": f"https://{OUR_HOST}",
        "sec-fetch-site": "same-origin",
        "sec-fetch-mode": "cors",
        "content-type": "application/json",
        "accept": "application/json",
        "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36",
        "via": "2.0 0123456789abcdef0123456789abcdef.cloudfront.net (CloudFront)",
        "x-forwarded-for": f"{VIEWER_IPV4}, 130.176.0.1",
        "x-forwarded-proto": "https",
    }


def http_event(
    method: str = "POST",
    path: str = "/api/session",
    headers: dict[str, str] | None = None,
    body: str | None = "",
    *,
    is_base64: bool = False,
    source_ip: str = VIEWER_IPV4,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event, as the function receives it."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": cloudfront_headers() if headers is None else headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "Mozilla/5.0",
            },
            "requestId": new_request_id(),
            "routeKey": "$default",
            "stage": "$default",
            "time": "24/Nov/2026:22:30:00 +0000",
            "timeEpoch": 1795559400000,
        },
        "isBase64Encoded": is_base64,
        "body": body,
    }


def documented_pairs() -> set[tuple[int, str]]:
    """Every (status, code) openapi.yaml documents for the function."""
    pairs = set()
    for path_item in spec()["paths"].values():
        for method in OPENAPI_METHODS:
            for status, response in path_item.get(method, {}).get("responses", {}).items():
                pairs |= {(int(status), code) for code in codes_in(error_schema(response))}
    return pairs
