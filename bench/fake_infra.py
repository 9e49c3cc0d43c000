"""Loopback stand-ins that charge what the real services charge, for everything the handler calls:

- OpenAI's client_secrets endpoint (answers after ~25 ms);
- Secrets Manager's GetSecretValue for the stack's three secrets (the OpenAI key, the origin header's
  values, the visitor key; ~10 ms);
- SSM's GetParameter for the pause switch (~10 ms);
- DynamoDB: the local stack's moto server (local.moto_server: one request at a time, so its
  transactions are atomic, answering 5 ms after its work), behind a TLS-terminating proxy here,
  because real DynamoDB is HTTPS and the handshake and record encryption are what a 0.145 vCPU
  invocation notices.

All over HTTPS with a throwaway CA, so that the client pays the TLS handshake and certificate
verification, as against AWS and OpenAI. They run in the benchmark's own process (moto in its child),
outside the CPU caps of what they serve. Every request and every new connection is counted per
service and operation (`Calls`); a child reads the counts from `calls_url` (plain HTTP, so reading
them costs it next to nothing) before and after what it times.
"""

from __future__ import annotations

import collections
import http.client
import json
import secrets
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import certifi
import trustme

from local.dynamodb import template_table_properties
from local.moto_server import MotoServer

REPO = Path(__file__).resolve().parent.parent
BENCH_KEY = "sk-bench-" + "0" * 32
_ARN_PREFIX = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
OPENAI_DELAY_S = 0.025
SECRETS_MANAGER_DELAY_S = 0.010
SSM_DELAY_S = 0.010
DYNAMODB_LATENCY_MS = 5.0
QUOTA_TABLE = "realtime-vend-bench-QuotaTable"
PAUSE_PARAMETER = "/realtime-vend-bench/paused"


def _event_origin_verify() -> str:
    # The value events/mint.json carries, as CloudFront would add it: the secret's current value.
    event = json.loads((REPO / "events" / "mint.json").read_text())
    value: str = event["headers"]["x-origin-verify"]
    return value


# name -> (template resource whose Ref is its ARN, SecretString)
SECRETS: dict[str, tuple[str, str]] = {
    "bench/openai": ("OpenAIApiKeySecret", BENCH_KEY),
    "bench/origin-verify": (
        "OriginVerifySecret",
        json.dumps({"current": _event_origin_verify(), "previous": ""}),
    ),
    "bench/visitor-key": ("VisitorKeySecret", "bench" + secrets.token_urlsafe(48)),
}


def _arn(name: str) -> str:
    return f"{_ARN_PREFIX}{name}-AbCdEf"


class Calls:
    """Requests per "service operation" and connections per service, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()

    def add(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


def calls_between(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    return {name: count - before.get(name, 0) for name, count in after.items() if count != before.get(name)}


class _JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real services
    disable_nagle_algorithm = True  # headers and body go out in two writes: don't wait for delayed ACKs
    delay_s: ClassVar[float] = 0.0
    content_type: ClassVar[str] = "application/json"
    service: ClassVar[str] = ""
    calls: ClassVar[Calls]

    def setup(self) -> None:
        super().setup()
        self.calls.add(f"{self.service} connection")  # one per TLS handshake

    def _body(self) -> object:
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return None

    def _send(self, status: int, body: dict[str, object]) -> None:
        payload = json.dumps(body).encode()
        time.sleep(self.delay_s)  # the service's own time: sleeping costs the client no CPU, as waiting
        self.send_response(status)
        self.send_header("content-type", self.content_type)
        self.send_header("content-length", str(len(payload)))
        self.send_header("x-amzn-requestid", secrets.token_hex(16))
        self.end_headers()
        self.wfile.write(payload)

    def _aws_target(self, service: str) -> tuple[str, object] | None:
        """The JSON protocol's operation and body, or None after answering an unsigned request."""
        body = self._body()
        operation = self.headers.get("x-amz-target", "").rpartition(".")[2]
        self.calls.add(f"{service} {operation}")
        if not self.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 Credential="):
            self._send(400, {"__type": "MissingAuthenticationTokenException", "message": "unsigned request"})
            return None
        return operation, body

    def log_message(self, format: str, *args: object) -> None:
        pass


class _ClientSecrets(_JsonHandler):
    """POST /v1/realtime/client_secrets: the GA answer (value, expires_at, the session as configured)."""

    delay_s = OPENAI_DELAY_S
    service = "openai"

    def do_POST(self) -> None:
        body = self._body()
        self.calls.add("openai client_secrets")
        if self.path != "/v1/realtime/client_secrets":
            self._send(404, _openai_error("unknown_url", f"Unknown request URL: POST {self.path}."))
            return
        if self.headers.get("authorization") != f"Bearer {BENCH_KEY}":
            self._send(401, _openai_error("invalid_api_key", "Incorrect API key provided."))
            return
        requested = body.get("session") if isinstance(body, dict) else None
        if not isinstance(requested, dict) or requested.get("type") != "realtime":
            self._send(400, _openai_error("invalid_value", "session.type must be 'realtime'."))
            return
        expires_at = int(time.time()) + 60
        session = {"object": "realtime.session", "id": "sess_" + secrets.token_hex(12), **requested}
        self._send(
            200, {"value": "ek_" + secrets.token_hex(16), "expires_at": expires_at, "session": session}
        )

    def do_HEAD(self) -> None:
        # The handler's init preconnect (a HEAD without credentials): OpenAI answers it with an error
        # status and keeps the connection, which BaseHTTPRequestHandler's default 501 would close.
        self.calls.add("openai HEAD")
        payload = json.dumps(_openai_error("missing_api_key", "You didn't provide an API key.")).encode()
        time.sleep(self.delay_s)
        self.send_response(401)
        self.send_header("content-type", self.content_type)
        self.send_header("content-length", str(len(payload)))  # a HEAD's answer: the length, no body
        self.end_headers()


def _openai_error(code: str, message: str) -> dict[str, object]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


class _SecretsManager(_JsonHandler):
    """The JSON 1.1 protocol's GetSecretValue for the stack's secrets; any other call is refused by name."""

    delay_s = SECRETS_MANAGER_DELAY_S
    content_type = "application/x-amz-json-1.1"
    service = "secretsmanager"

    def do_POST(self) -> None:
        request = self._aws_target(self.service)
        if request is None:
            return
        operation, body = request
        secret_id = body.get("SecretId") if isinstance(body, dict) else None
        name = next((n for n in SECRETS if secret_id in {n, _arn(n)}), None)
        if operation != "GetSecretValue":
            self._send(
                400, {"__type": "UnknownOperationException", "message": f"bench serves no {operation}"}
            )
        elif name is None:
            message = "Secrets Manager can't find the specified secret."
            self._send(400, {"__type": "ResourceNotFoundException", "message": message})
        else:
            self.calls.add(f"secretsmanager GetSecretValue {name}")
            self._send(
                200,
                {
                    "ARN": _arn(name),
                    "Name": name,
                    "VersionId": "2c4b1b8e-0000-4000-8000-000000000001",
                    "SecretString": SECRETS[name][1],
                    "VersionStages": ["AWSCURRENT"],
                    "CreatedDate": 1.7e9,
                },
            )


class _Ssm(_JsonHandler):
    """The JSON 1.1 protocol's GetParameter for the pause switch (serving: "false")."""

    delay_s = SSM_DELAY_S
    content_type = "application/x-amz-json-1.1"
    service = "ssm"

    def do_POST(self) -> None:
        request = self._aws_target(self.service)
        if request is None:
            return
        operation, body = request
        name = body.get("Name") if isinstance(body, dict) else None
        if operation != "GetParameter":
            self._send(
                400, {"__type": "UnknownOperationException", "message": f"bench serves no {operation}"}
            )
        elif name != PAUSE_PARAMETER:
            self._send(400, {"__type": "ParameterNotFound", "message": ""})
        else:
            arn = f"arn:aws:ssm:us-east-1:123456789012:parameter{PAUSE_PARAMETER}"
            parameter = {"Name": name, "Type": "String", "Value": "false", "Version": 1}
            parameter |= {"LastModifiedDate": 1.7e9, "ARN": arn, "DataType": "text"}
            self._send(200, {"Parameter": parameter})


class _DynamoDbProxy(_JsonHandler):
    """TLS in front of moto: each request forwarded as is over a kept-alive connection per client
    connection, the answer (status, body, request id, CRC32) passed back; moto adds the latency."""

    service = "dynamodb"
    backend: ClassVar[tuple[str, int]]
    _FORWARDED = ("content-type", "x-amz-target", "x-amz-date", "x-amz-security-token", "authorization")
    _RETURNED = ("content-type", "x-amzn-requestid", "x-amz-crc32")

    def setup(self) -> None:
        super().setup()
        self._backend = http.client.HTTPConnection(*self.backend, timeout=10)

    def finish(self) -> None:
        super().finish()
        self._backend.close()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.calls.add(f"dynamodb {self.headers.get('x-amz-target', '').rpartition('.')[2]}")
        headers = {name: value for name in self._FORWARDED if (value := self.headers.get(name)) is not None}
        self._backend.request("POST", "/", body=body, headers=headers)
        answer = self._backend.getresponse()
        payload = answer.read()
        self.send_response(answer.status)
        for name in self._RETURNED:
            if (value := answer.getheader(name)) is not None:
                self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _CallsEndpoint(BaseHTTPRequestHandler):
    """GET /: the counts so far, as JSON (plain HTTP: the bench's own channel, not a service)."""

    calls: ClassVar[Calls]

    def do_GET(self) -> None:
        payload = json.dumps(self.calls.snapshot()).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass(frozen=True)
class Infra:
    upstream_url: str
    secrets_endpoint: str
    ssm_endpoint: str
    dynamodb_endpoint: str
    calls_url: str
    ca_bundle: Path  # certifi's roots plus the throwaway CA: what the clients verify against
    calls: Calls = field(compare=False)

    @property
    def resources(self) -> dict[str, str]:
        """What `Ref` to each resource the function's environment names returns here (an ARN for a
        secret, the name for a table or a parameter), as CloudFormation returns them."""
        refs = {resource: _arn(name) for name, (resource, _) in SECRETS.items()}
        # The schedule group is never called in client-secret mode (the bench's): any name will do.
        return {
            **refs,
            "QuotaTable": QUOTA_TABLE,
            "PauseParameter": PAUSE_PARAMETER,
            "CallScheduleGroup": "realtime-vend-calls",
        }

    def env(self) -> dict[str, str]:
        """Where the services are, fake credentials, and where to find the CA."""
        return {
            "OPENAI_BASE_URL": self.upstream_url,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.secrets_endpoint,
            "AWS_ENDPOINT_URL_SSM": self.ssm_endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_endpoint,
            "AWS_CA_BUNDLE": str(self.ca_bundle),  # botocore's documented override
            "BENCH_CA_BUNDLE": str(self.ca_bundle),  # for httpx, via certifi (see lambda_child.py)
            "BENCH_CALLS_URL": self.calls_url,
            "AWS_ACCESS_KEY_ID": "ASIABENCHBENCHBENCH0",
            "AWS_SECRET_ACCESS_KEY": "bench" * 8,
            "AWS_SESSION_TOKEN": "bench-session-token",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
        }


def _serve(handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext | None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if context is not None:
        # The handshake runs on the connection's own thread (first read), not in the accept loop.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _handler(base: type[_JsonHandler], calls: Calls, **attributes: object) -> type[_JsonHandler]:
    # A subclass per run, so that the counts and the backend are this run's.
    return type(base.__name__, (base,), {"calls": calls, **attributes})


@contextmanager
def fake_infra() -> Iterator[Infra]:
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    calls = Calls()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-ca-")))
        bundle = folder / "ca-bundle.pem"
        # The whole public bundle, as in production: loading it is part of what a client pays.
        bundle.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + authority.cert_pem.bytes())
        dynamodb = stack.enter_context(MotoServer(latency_ms=DYNAMODB_LATENCY_MS))
        dynamodb.create(tables={QUOTA_TABLE: template_table_properties("QuotaTable")})
        servers = {
            "openai": _serve(_handler(_ClientSecrets, calls), context),
            "secretsmanager": _serve(_handler(_SecretsManager, calls), context),
            "ssm": _serve(_handler(_Ssm, calls), context),
            "dynamodb": _serve(
                _handler(_DynamoDbProxy, calls, backend=(dynamodb.host, dynamodb.port)), context
            ),
        }
        endpoint_handler = type("_CallsEndpoint", (_CallsEndpoint,), {"calls": calls})
        servers["calls"] = _serve(endpoint_handler, None)
        for server in servers.values():
            stack.callback(server.server_close)
            stack.callback(server.shutdown)
        url = {name: f"https://127.0.0.1:{server.server_address[1]}" for name, server in servers.items()}
        yield Infra(
            upstream_url=url["openai"],
            secrets_endpoint=url["secretsmanager"],
            ssm_endpoint=url["ssm"],
            dynamodb_endpoint=url["dynamodb"],
            calls_url=url["calls"].replace("https://", "http://"),
            ca_bundle=bundle,
            calls=calls,
        )
