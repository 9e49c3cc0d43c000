"""The one log line per request, as Lambda would ship it: strict UTF-8 to stdout, one JSON object.

A viewer chooses the path and the method, so the line must survive whatever they send, and must
carry neither a secret nor the account id.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.functional.conftest import invoke, load_event


class LambdaStdout:
    """The function logger's own handler, writing to a strict UTF-8 stream as Lambda's stdout does."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.stream = io.TextIOWrapper(self.buffer, encoding="utf-8", errors="strict", write_through=True)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.buffer.getvalue().decode("utf-8").splitlines() if line]

    def request_lines(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("message") == "request"]


@pytest.fixture
def stdout(handler: ModuleType) -> Iterator[LambdaStdout]:
    captured = LambdaStdout()
    streams = [h for h in logging.getLogger("realtime-vend").handlers if isinstance(h, logging.StreamHandler)]
    assert streams, "the function logger has no stream handler"
    previous = [h.setStream(captured.stream) for h in streams]
    yield captured
    for h, stream in zip(streams, previous, strict=True):
        h.setStream(stream)


def request_to(module: ModuleType, path: str, method: str = "POST") -> int:
    event = load_event("unknown-path")
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    return invoke(module, event).status


def test_a_secret_in_the_path_is_redacted_in_every_field(handler: ModuleType, stdout: LambdaStdout) -> None:
    key_like = "sk-live-" + "Q" * 40

    assert request_to(handler, f"/api/{key_like}") == 404

    [line] = stdout.request_lines()
    assert line["status"] == 404
    assert key_like not in json.dumps(line)
    assert "[redacted]" in line["path"]


def test_a_lone_surrogate_in_the_path_still_gets_its_log_line(
    handler: ModuleType, stdout: LambdaStdout
) -> None:
    assert request_to(handler, "/api/\udcff\ud800x") == 404

    [line] = stdout.request_lines()
    assert line["status"] == 404
    assert line["path"].startswith("/api/")


def test_a_long_path_is_truncated(handler: ModuleType, stdout: LambdaStdout) -> None:
    assert request_to(handler, "/api/" + "a" * 5000) == 404

    [line] = stdout.request_lines()
    assert len(line["path"]) <= 130


def test_no_line_carries_the_functions_arn_or_account_id(handler: ModuleType, stdout: LambdaStdout) -> None:
    assert request_to(handler, "/api/session") in {200, 400, 415}

    lines = stdout.lines()
    assert lines
    for line in lines:
        assert "function_arn" not in line
        assert "123456789012" not in json.dumps(line)


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "CONNECT", "BREW", "GET", "OPTIONS"])
def test_every_method_but_post_on_the_session_path_is_405(handler: ModuleType, method: str) -> None:
    event = load_event("wrong-method")
    event["requestContext"]["http"]["method"] = method

    reply = invoke(handler, event)

    assert (reply.status, reply.error_code, reply.headers["allow"]) == (405, "method_not_allowed", "POST")
    assert reply.body["error"]["message"] == "This path only accepts POST."
