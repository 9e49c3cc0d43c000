"""Loopback stand-ins that charge what the real services charge: Secrets Manager and OpenAI's
client_secrets endpoint, both over HTTPS with a throwaway CA (so the client pays the TLS handshake and
certificate verification, as against AWS and OpenAI), answering after a fixed delay (by default ~10 ms
and ~25 ms). They run in the benchmark's own process, outside the CPU caps of what they serve.
"""

from __future__ import annotations

import json
import secrets
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import certifi
import trustme

BENCH_KEY = "sk-bench-" + "0" * 32
SECRET_NAME = "bench/openai"
SECRET_ARN = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{SECRET_NAME}-AbCdEf"
OPENAI_DELAY_S = 0.025
SECRETS_MANAGER_DELAY_S = 0.010


class _JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as both real services
    disable_nagle_algorithm = True  # headers and body go out in two writes: don't wait for delayed ACKs
    delay_s: ClassVar[float] = 0.0
    content_type: ClassVar[str] = "application/json"

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
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _ClientSecrets(_JsonHandler):
    """POST /v1/realtime/client_secrets: the GA answer (value, expires_at, the session as configured)."""

    delay_s = OPENAI_DELAY_S

    def do_POST(self) -> None:
        body = self._body()
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


def _openai_error(code: str, message: str) -> dict[str, object]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


class _SecretsManager(_JsonHandler):
    """The JSON 1.1 protocol's GetSecretValue for the one secret; any other call is refused by name."""

    delay_s = SECRETS_MANAGER_DELAY_S
    content_type = "application/x-amz-json-1.1"

    def do_POST(self) -> None:
        body = self._body()
        target = self.headers.get("x-amz-target", "")
        if not self.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 Credential="):
            self._send(400, {"__type": "MissingAuthenticationTokenException", "message": "unsigned request"})
        elif target != "secretsmanager.GetSecretValue":
            self._send(400, {"__type": "UnknownOperationException", "message": f"bench serves no {target}"})
        elif not isinstance(body, dict) or body.get("SecretId") not in {SECRET_NAME, SECRET_ARN}:
            self._send(
                400,
                {"__type": "ResourceNotFoundException", "message": "Secrets Manager can't find the secret."},
            )
        else:
            self._send(
                200,
                {
                    "ARN": SECRET_ARN,
                    "Name": SECRET_NAME,
                    "VersionId": "2c4b1b8e-0000-4000-8000-000000000001",
                    "SecretString": BENCH_KEY,
                    "VersionStages": ["AWSCURRENT"],
                    "CreatedDate": 1.7e9,
                },
            )


@dataclass(frozen=True)
class Infra:
    upstream_url: str
    secrets_endpoint: str
    secret_arn: str
    ca_bundle: Path  # certifi's roots plus the throwaway CA: what the clients verify against

    def env(self) -> dict[str, str]:
        """The handler's view: its template variables, fake credentials, and where to find the CA."""
        return {
            "OPENAI_BASE_URL": self.upstream_url,
            "OPENAI_API_KEY_SECRET_ARN": self.secret_arn,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.secrets_endpoint,
            "AWS_CA_BUNDLE": str(self.ca_bundle),  # botocore's documented override
            "BENCH_CA_BUNDLE": str(self.ca_bundle),  # for httpx, via certifi (see lambda_child.py)
            "AWS_ACCESS_KEY_ID": "ASIABENCHBENCHBENCH0",
            "AWS_SECRET_ACCESS_KEY": "bench" * 8,
            "AWS_SESSION_TOKEN": "bench-session-token",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
        }


def _serve(handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    # The handshake runs on the connection's own thread (first read), not in the accept loop.
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextmanager
def fake_infra() -> Iterator[Infra]:
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with tempfile.TemporaryDirectory(prefix="bench-ca-") as folder:
        bundle = Path(folder) / "ca-bundle.pem"
        # The whole public bundle, as in production: loading it is part of what a client pays.
        bundle.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + authority.cert_pem.bytes())
        upstream = _serve(_ClientSecrets, context)
        secrets_manager = _serve(_SecretsManager, context)
        try:
            yield Infra(
                f"https://127.0.0.1:{upstream.server_address[1]}",
                f"https://127.0.0.1:{secrets_manager.server_address[1]}",
                SECRET_ARN,
                bundle,
            )
        finally:
            for server in (upstream, secrets_manager):
                server.shutdown()
                server.server_close()
