"""Init does the first request's I/O early — reads the key, opens the connection to OpenAI — because
Lambda runs init on a full vCPU and the first invocation on a fraction of one. Best effort: init never
fails or hangs because of it, and whatever it could not do, the first request does."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import botocore.client
import pytest

from tests.functional.conftest import SecretsManagerSpy, post_session

HandlerFactory = Callable[..., ModuleType]


class CountingOpenAI(ThreadingHTTPServer):
    """A loopback OpenAI that counts TCP connections, to see which request opened one."""

    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.connections = 0
        self.mints = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1
        super().process_request(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as OpenAI's edge
    server: CountingOpenAI

    def do_HEAD(self) -> None:
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.mints += 1
        body = json.dumps(
            {"value": "ek_" + "c" * 20, "expires_at": int(time.time()) + 60, "session": {"type": "realtime"}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def openai() -> Iterator[CountingOpenAI]:
    server = CountingOpenAI()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_init_reads_the_key_so_the_first_request_does_not(
    cold_start: HandlerFactory, secret_arn: str, openai: CountingOpenAI, secretsmanager: SecretsManagerSpy
) -> None:
    module = cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, OPENAI_BASE_URL=openai.url)
    assert secretsmanager.calls == 1

    assert post_session(module).status == 200
    assert secretsmanager.calls == 1


def test_init_opens_the_connection_the_first_mint_uses(
    cold_start: HandlerFactory, secret_arn: str, openai: CountingOpenAI
) -> None:
    module = cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, OPENAI_BASE_URL=openai.url)
    assert (openai.connections, openai.mints) == (1, 0)

    assert post_session(module).status == 200
    assert post_session(module).status == 200
    assert (openai.connections, openai.mints) == (1, 2)


def test_a_failed_prefetch_leaves_the_work_to_the_first_request(
    cold_start: HandlerFactory, secret_arn: str, openai: CountingOpenAI, secretsmanager: SecretsManagerSpy
) -> None:
    secretsmanager.fail_with.append("ThrottlingException")  # only init's read fails
    openai.shutdown()  # and OpenAI cannot be reached during init…
    port = openai.server_address[1]
    openai.server_close()

    module = cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, OPENAI_BASE_URL=f"http://127.0.0.1:{port}")
    assert secretsmanager.calls == 1
    restarted = CountingOpenAI(port)  # …but is back on the same port for the first request
    threading.Thread(target=restarted.serve_forever, daemon=True).start()
    try:
        assert post_session(module).status == 200
    finally:
        restarted.shutdown()
        restarted.server_close()
    assert secretsmanager.calls == 2
    assert restarted.mints == 1


def test_a_hanging_secrets_manager_cannot_hold_init_beyond_its_budget(
    cold_start: HandlerFactory,
    secret_arn: str,
    openai: CountingOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    original = botocore.client.BaseClient._make_api_call

    def hang(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if operation_name == "GetSecretValue":
            release.wait(30)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", hang)
    started = time.monotonic()
    try:
        module = cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, OPENAI_BASE_URL=openai.url)
        imported_after = time.monotonic() - started
    finally:
        release.set()

    # the budget is about 1 s; 10 s of slack for a loaded CI machine is still far from a hang
    assert imported_after < 10
    assert post_session(module).status == 200
