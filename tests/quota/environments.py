"""Lambda execution environments as processes: each imports the real handler once and runs one
invocation at a time, as Lambda does; concurrency comes from running several of them at once.

(One process cannot stand in for several environments: Powertools' resolver keeps the current
event on the app object, so concurrent invocations in one process would mix their events.)

OpenAI is the strict fake from tests/fakes, in each process; Secrets Manager, SSM and DynamoDB are
moto's server (local.moto_server); its DynamoDB is the subject here, reached over HTTP like the real one.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from typing import Any

import respx

from tests.conftest import FakeLambdaContext, call_offer, load_event
from tests.fakes.openai_upstream import BASE_URL, FakeCalls, FakeClientSecrets, mount, mount_calls

KEY = "sk-test-canary-AAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def visitor_event(address: str) -> dict[str, Any]:
    """The events' mint, from a viewer at `address` (as CloudFront-Viewer-Address reports it)."""
    event = load_event("mint")
    event["headers"]["cloudfront-viewer-address"] = f"{address}:50000"
    return event


OFFER = call_offer()


def call_event(address: str) -> dict[str, Any]:
    """A relayed call's offer from a viewer at `address`."""
    event = visitor_event(address)
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/api/call"
    event["headers"]["content-type"] = "application/sdp"
    event["body"] = OFFER
    return event


def _environment_main(
    env: Mapping[str, str], inbox: Any, outbox: Any, barrier: Barrier
) -> None:  # pragma: no cover - runs in the child
    os.environ.update(env)
    fake, calls = FakeClientSecrets(valid_keys={KEY}), FakeCalls(valid_keys={KEY})
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        mount(router, fake)
        mount_calls(router, calls)
        import vend.app

        outbox.put("ready")
        while True:
            batch = inbox.get()
            if batch is None:
                return
            barrier.wait(timeout=60)  # every environment fires at once
            results = []
            for event in batch:
                reply = vend.app.lambda_handler(event, FakeLambdaContext())
                is_json = reply.get("headers", {}).get("Content-Type", "").startswith("application/json")
                body = json.loads(reply.get("body") or "{}") if is_json else {}
                code = body.get("error", {}).get("code") if isinstance(body.get("error"), dict) else None
                results.append((reply["statusCode"], code, reply.get("headers", {})))
            outbox.put(results)


@dataclass
class Environments:
    """`count` warm environments of the handler with `env`; `invoke_all` runs batches concurrently."""

    env: Mapping[str, str]
    count: int

    def __post_init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._barrier = context.Barrier(self.count)
        self._inboxes = [context.Queue() for _ in range(self.count)]
        self._outboxes = [context.Queue() for _ in range(self.count)]
        self._processes = [
            context.Process(
                target=_environment_main,
                args=(dict(self.env), inbox, outbox, self._barrier),
                daemon=True,
            )
            for inbox, outbox in zip(self._inboxes, self._outboxes, strict=True)
        ]
        for process in self._processes:
            process.start()
        for outbox in self._outboxes:
            assert outbox.get(timeout=120) == "ready"

    def invoke_all(self, events: list[dict[str, Any]]) -> list[tuple[int, str | None, dict[str, str]]]:
        """Deal `events` round-robin to the environments, start them together, return in order."""
        batches: list[list[dict[str, Any]]] = [[] for _ in range(self.count)]
        for index, event in enumerate(events):
            batches[index % self.count].append(event)
        for inbox, batch in zip(self._inboxes, batches, strict=True):
            inbox.put(batch)
        answers = [outbox.get(timeout=120) for outbox in self._outboxes]
        results: list[tuple[int, str | None, dict[str, str]]] = []
        for index in range(len(events)):
            results.append(answers[index % self.count][index // self.count])
        return results

    def close(self) -> None:
        for inbox in self._inboxes:
            inbox.put(None)
        for process in self._processes:
            process.join(timeout=2)
            if process.is_alive():
                process.kill()
                process.join()


def handler_environment(
    *, dynamodb: str, aws: str, arns: Mapping[str, str], table: str, **limits: str
) -> dict[str, str]:
    """The function's environment against the local stand-ins (names as template.yaml sets them)."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": aws,
        "AWS_ENDPOINT_URL_SSM": aws,
        "AWS_ENDPOINT_URL_SCHEDULER": aws,
        "OPENAI_API_KEY_SECRET_ARN": arns["key"],
        "ORIGIN_VERIFY_SECRET_ARN": arns["origin"],
        "VISITOR_KEY_SECRET_ARN": arns["visitor"],
        "PAUSE_PARAMETER_NAME": "/realtime-vend-test/paused",
        "HANGUP_FUNCTION_ARN": "arn:aws:lambda:us-east-1:123456789012:function:realtime-vend-test-hangup",
        "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/realtime-vend-test-SchedulerRole",
        "SCHEDULE_GROUP_NAME": "realtime-vend-test-calls",
        "QUOTA_TABLE_NAME": table,
        "OPENAI_BASE_URL": BASE_URL,
        "POWERTOOLS_METRICS_NAMESPACE": "RealtimeVendTest",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(sys.path),
        **limits,
    }
