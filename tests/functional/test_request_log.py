"""The one log line per request, as Lambda would ship it: strict UTF-8 to stdout, one JSON object.

A viewer chooses the path and the method, so the line must survive whatever they send, and must
carry neither a secret nor the account id.
"""

from __future__ import annotations

import json
from types import ModuleType

import pytest

from tests.functional.conftest import LambdaStdout, invoke, load_event


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
