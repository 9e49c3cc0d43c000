"""The vend function starts a relayed call's companion, and the companion function's own handler.

The handler in-process on moto, OpenAI faked as in test_relay.py; Lambda's Invoke API is the one
collaborator replaced here (a recorder), since moto would try to run the function.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest

from tests.conftest import FakeLambdaContext
from tests.fakes.openai_upstream import BASE_URL, FakeCalls, FakeClientSecrets
from tests.functional.conftest import QUOTA_TABLE, HandlerFactory
from tests.functional.test_relay import start_call

COMPANION = "realtime-vend-CompanionFunction"


class LambdaRecorder:
    """Lambda's Invoke API: records each call and what the call record said at that moment."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.invocations: list[dict[str, Any]] = []

    def invoke(self, **request: Any) -> dict[str, Any]:
        if self.fail:
            raise ConnectionError("no route to Lambda")
        payload = json.loads(request["Payload"])
        item = boto3.client("dynamodb").get_item(
            TableName=QUOTA_TABLE, Key={"pk": {"S": f"call#{payload['call_id']}"}}, ConsistentRead=True
        )["Item"]
        self.invocations.append({**request, "Payload": payload, "state": item["state"]["S"]})
        return {"StatusCode": 202}


@pytest.fixture
def relay(
    cold_start: HandlerFactory, secret_arn: str, upstream: FakeClientSecrets, calls: FakeCalls
) -> Callable[[LambdaRecorder], ModuleType]:
    def start(recorder: LambdaRecorder) -> ModuleType:
        module = cold_start(
            OPENAI_API_KEY_SECRET_ARN=secret_arn,
            OPENAI_BASE_URL=BASE_URL,
            CALL_MODE="relay",
            COMPANION_FUNCTION_NAME=COMPANION,
        )
        providers = importlib.import_module("vend.providers")
        providers.INSTANCE.companions._built = recorder
        return module

    return start


def test_a_relayed_call_queues_its_companion_once_and_answers_with_the_call_live(
    relay: Callable[[LambdaRecorder], ModuleType],
) -> None:
    recorder = LambdaRecorder()
    reply = start_call(relay(recorder))

    assert reply.status == 201
    call_id = reply.headers["location"].rsplit("/", 1)[1]
    # Queued beside the schedule and the record's update (the companion re-reads a pending record),
    # so the invocation may see either state; by the answer the record is live.
    assert [{**i, "state": i["state"] in {"pending", "live"}} for i in recorder.invocations] == [
        {
            "FunctionName": COMPANION,
            "InvocationType": "Event",
            "Payload": {"call_id": call_id, "generation": 0},  # never OpenAI's rtc_ id
            "state": True,
        }
    ]
    record = boto3.client("dynamodb").get_item(
        TableName=QUOTA_TABLE, Key={"pk": {"S": f"call#{call_id}"}}, ConsistentRead=True
    )["Item"]
    assert record["state"]["S"] == "live"


def test_a_companion_that_cannot_start_is_counted_and_the_call_goes_on(
    relay: Callable[[LambdaRecorder], ModuleType],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    reply = start_call(relay(LambdaRecorder(fail=True)))

    assert reply.status == 201  # the scheduled hangup still ends it at its cap
    out = capfd.readouterr().out
    metrics = [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]
    assert any(m.get("CompanionFailures") == [1.0] or m.get("CompanionFailures") == 1.0 for m in metrics)
    [line] = [r for r in caplog.records if r.getMessage() == "companion not started"]
    assert line.__dict__["reason"] == "lambda_ConnectionError"  # the error type, never its message
    assert "rtc_" not in out + repr([r.__dict__ for r in caplog.records])


def test_the_companion_handler_finalises_an_ended_call_and_refuses_a_bad_event(
    relay: Callable[[LambdaRecorder], ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = relay(LambdaRecorder())
    call_id = start_call(module).headers["location"].rsplit("/", 1)[1]
    page_delete = importlib.import_module("tests.functional.test_relay").delete_event
    from tests.functional.conftest import invoke

    assert invoke(module, page_delete(f"/api/call/{call_id}")).status == 204  # the page ended it
    monkeypatch.setenv("_HANDLER", "vend.companion.handler.lambda_handler")
    companion = importlib.import_module("vend.companion.handler")

    assert companion.lambda_handler({"call_id": call_id, "generation": 0}, FakeLambdaContext()) == {
        "outcome": "already_ended"
    }
    assert companion.lambda_handler({"call_id": "rtc_x", "generation": 0}, FakeLambdaContext()) == {
        "outcome": "bad_event"
    }
    assert companion.lambda_handler({"call_id": call_id, "generation": -1}, FakeLambdaContext()) == {
        "outcome": "bad_event"
    }


def test_the_companion_functions_init_reads_only_what_its_role_may(
    cold_start: HandlerFactory, secret_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.client

    asked: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def spy(self: Any, operation: str, params: dict[str, Any]) -> Any:
        asked.append(f"{operation}:{params.get('SecretId') or params.get('Name') or params.get('TableName')}")
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    monkeypatch.setenv("_HANDLER", "vend.companion.handler.lambda_handler")  # what Lambda sets

    cold_start(
        OPENAI_API_KEY_SECRET_ARN=secret_arn,
        OPENAI_BASE_URL=BASE_URL,
        CALL_MODE="relay",
        COMPANION_FUNCTION_NAME=COMPANION,
    )

    # the key and the table; not the origin header, the visitor key or the pause switch
    assert sorted(a.split(":")[0] for a in asked) == ["GetItem", "GetSecretValue"]
    assert any(secret_arn in a for a in asked)
