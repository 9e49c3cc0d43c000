"""Loopback stand-ins for a benchmark: Secrets Manager (moto server) and an OpenAI client_secrets
endpoint that answers at once, so that what is measured is the handler, not the network."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from local.secrets_manager import SeededSecretsManager

BENCH_KEY = "sk-bench-" + "0" * 32


class _ClientSecrets(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as api.openai.com
    disable_nagle_algorithm = True  # headers and body go out in two writes: don't wait for delayed ACKs

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.headers.get("authorization") != f"Bearer {BENCH_KEY}":
            self._send(
                401,
                {
                    "error": {
                        "message": "bad key",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
            )
            return
        self._send(
            200,
            {
                "value": "ek_" + secrets.token_hex(16),
                "expires_at": int(time.time()) + 60,
                "session": {"type": "realtime", "object": "realtime.session", "id": "sess_bench"},
            },
        )

    def _send(self, status: int, body: dict[str, object]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
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
    secret_arn: str

    def env(self) -> dict[str, str]:
        return {
            "OPENAI_BASE_URL": self.upstream_url,
            "OPENAI_API_KEY_SECRET_ARN": self.secret_arn,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.secrets_endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        }


@contextmanager
def fake_infra() -> Iterator[Infra]:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _ClientSecrets)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    secrets_manager = SeededSecretsManager("bench/openai", BENCH_KEY)
    secrets_manager.start()
    try:
        yield Infra(
            f"http://127.0.0.1:{upstream.server_address[1]}", secrets_manager.endpoint, secrets_manager.arn
        )
    finally:
        secrets_manager.stop()
        upstream.shutdown()
        upstream.server_close()
