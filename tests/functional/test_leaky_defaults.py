"""The three library defaults that leak secrets, all switched to their leaky settings at once:

- Tracer stores every response (the ek_) and error in X-Ray metadata (POWERTOOLS_TRACER_CAPTURE_*);
- POWERTOOLS_DEV=true makes the resolver put stack traces in 500 bodies;
- botocore at DEBUG logs the GetSecretValue response (the key).

The handler must leak neither the key nor a client secret into any response, log line or trace.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aws_xray_sdk.core import lambda_launcher, xray_recorder

from tests.fakes.openai_upstream import FakeClientSecrets
from tests.functional.conftest import KEY, post_session


class CapturingEmitter:
    """Stands in for the UDP emitter to the X-Ray daemon: keeps every serialised segment."""

    def __init__(self) -> None:
        self.documents: list[str] = []

    def send_entity(self, entity: Any) -> None:
        self.documents.append(entity.serialize())

    def set_daemon_address(self, address: str | None) -> None:
        pass

    @property
    def ip(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return 2000


@pytest.fixture
def xray(monkeypatch: pytest.MonkeyPatch) -> Iterator[CapturingEmitter]:
    """X-Ray as it runs in Lambda: a facade segment from _X_AMZN_TRACE_ID, subsegments emitted."""
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "realtime-vend-VendFunction")
    monkeypatch.setenv(
        "_X_AMZN_TRACE_ID", "Root=1-6745a1b2-3c4d5e6f7a8b9c0d1e2f3a4b;Parent=53995c3f42cd8ad8;Sampled=1"
    )
    emitter = CapturingEmitter()
    original_emitter, original_context = xray_recorder._emitter, xray_recorder.context
    xray_recorder._emitter = emitter
    xray_recorder.context = lambda_launcher.LambdaContext()
    yield emitter
    xray_recorder._emitter, xray_recorder.context = original_emitter, original_context


@pytest.fixture(scope="module")
def observability_imported() -> None:
    """Our logging setup quiets noisy libraries when it is first imported: import it before this test
    forces them to DEBUG, whatever ran before (and outside capsys, whose stdout closes with the test)."""
    importlib.import_module("vend.observability")


class EverythingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()} {record.__dict__!r}")


@pytest.fixture
def root_at_debug() -> Iterator[EverythingHandler]:
    root = logging.getLogger()
    handler = EverythingHandler()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.mark.filterwarnings("ignore:POWERTOOLS_DEV environment variable is enabled:UserWarning")
def test_leaky_defaults_leak_nothing(
    monkeypatch: pytest.MonkeyPatch,
    cold_start,  # type: ignore[no-untyped-def]
    secret_arn: str,
    upstream: FakeClientSecrets,
    xray: CapturingEmitter,
    root_at_debug: EverythingHandler,
    observability_imported: None,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    for name, value in {
        "POWERTOOLS_DEV": "true",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "true",
        "POWERTOOLS_TRACER_CAPTURE_ERROR": "true",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("botocore", "urllib3"):  # as `boto3.set_stream_logger("")` or a DEBUG root would
        library = logging.getLogger(name)
        # restored afterwards: later tests (the security battery) must not inherit DEBUG libraries
        request.addfinalizer(lambda library=library, level=library.level: library.setLevel(level))
        library.setLevel(logging.DEBUG)
    # cold start after the loggers went DEBUG: init itself reads the secret now (the prefetch)
    module = cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, TRACING_ENABLED="true")
    upstream.then(
        # an error whose message quotes the key, as careless code might: a traceback would carry it
        RuntimeError(f"upstream said no to {KEY}"),
    )

    failed = post_session(module)
    minted = post_session(module)

    assert failed.status == 500 and "Traceback" not in failed.raw["body"]
    assert minted.status == 200
    client_secret = minted.body["value"]
    assert xray.documents, "tracing was on: segments should have been emitted"
    assert '"name": "openai.client_secrets"' in "\n".join(xray.documents)
    trace_text = "\n".join(xray.documents)
    logs = "\n".join(root_at_debug.lines) + capsys.readouterr().out
    # the leaky settings were live: botocore did log the GetSecretValue exchange at DEBUG
    assert any("Response body" in line and "SecretString" in line for line in root_at_debug.lines)
    for where, text in {"trace": trace_text, "logs": logs, "error body": failed.raw["body"]}.items():
        assert KEY not in text, where
        assert client_secret not in text, where
    assert "sk-" not in failed.raw["body"]
    assert json.loads(failed.raw["body"]) == {
        "error": {"code": "internal_error", "message": "Something went wrong on our side. Please try again."}
    }
