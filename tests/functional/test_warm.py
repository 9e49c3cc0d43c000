"""`GET /api/warm`: the page wakes the function when a visitor shows intent, so the first call after an
idle spell does not pay init on its critical path. The request runs init and nothing else: no mint, no
secret read, no counter, no visitor in the log, and no token needed in signed-in mode.
"""

from __future__ import annotations

from types import ModuleType

import boto3

from tests.conftest import load_event
from tests.fakes.openai_upstream import BASE_URL, FakeClientSecrets
from tests.functional.conftest import (
    QUOTA_TABLE,
    HandlerFactory,
    LambdaStdout,
    SecretsManagerSpy,
    invoke,
)


def test_warm_answers_204_at_once_and_spends_nothing(
    handler: ModuleType,
    stdout: LambdaStdout,
    upstream: FakeClientSecrets,
    secretsmanager: SecretsManagerSpy,
) -> None:
    # Given a warm environment (init read the key once)
    reads_at_init = secretsmanager.calls

    # When the page asks it to warm up
    reply = invoke(handler, "warm")

    # Then it answers 204, empty, never cached
    assert reply.status == 204
    assert reply.raw["body"] == ""
    assert reply.headers["cache-control"] == "no-store"
    # having minted nothing, read no secret again and counted nothing
    assert upstream.requests == []
    assert secretsmanager.calls == reads_at_init
    table = boto3.client("dynamodb").scan(TableName=QUOTA_TABLE)
    assert table["Items"] == []
    # and its log line says what it was, with no visitor
    [line] = stdout.request_lines()
    assert (line["status"], line["outcome"], line["path"]) == (204, "warm", "/api/warm")
    assert "visitor" not in line


def test_warm_needs_no_token_when_visitors_sign_in(
    cold_start: HandlerFactory, secret_arn: str, upstream: FakeClientSecrets
) -> None:
    # Given a stack whose minting routes take only signed-in visitors
    module = cold_start(
        OPENAI_API_KEY_SECRET_ARN=secret_arn,
        OPENAI_BASE_URL=BASE_URL,
        AUTH_ISSUER="https://issuer.example.com",
    )

    # When the page warms it before anyone signed in (no authorizer claims in the event)
    event = load_event("warm")
    assert "authorizer" not in event["requestContext"]
    reply = invoke(module, event)

    # Then the function still wakes and answers 204
    assert reply.status == 204
    assert upstream.requests == []


def test_warm_serves_get_only(handler: ModuleType, upstream: FakeClientSecrets) -> None:
    event = load_event("warm")
    event["requestContext"]["http"]["method"] = "POST"

    reply = invoke(handler, event)

    assert (reply.status, reply.error_code, reply.headers["allow"]) == (405, "method_not_allowed", "GET")
    assert upstream.requests == []
