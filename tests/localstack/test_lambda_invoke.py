"""local.lambda_invoke: Lambda's Invoke API as boto3 calls it, and Lambda's way of running async
invocations (an execution environment each, the deadline, two retries).

The functions here run tests/localstack/async_handler.py; the stack runs the companion's module under
the same name (local.lambda_invoke.ASYNC_FUNCTIONS).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from aiohttp import web
from botocore.config import Config

from local.lambda_invoke import LambdaInvoker
from local.moto_server import FAKE_CREDENTIALS, REGION

FUNCTION = "realtime-vend-test-Companion"
HANDLER = "tests.localstack.async_handler"
RETRY_DELAYS = (0.3, 0.6)  # Lambda's 1 and 2 minutes, scaled


class Served:
    """A LambdaInvoker behind its HTTP app, in a thread with its own event loop; boto3's client for it."""

    def __init__(self, invoker: LambdaInvoker) -> None:
        self.invoker = invoker
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-lambda-api", daemon=True)
        self._thread.start()
        self._runner = web.AppRunner(invoker.app(), access_log=None)
        self._run(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._run(site.start())
        self.endpoint = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self.client = boto3.session.Session(region_name=REGION, **FAKE_CREDENTIALS).client(
            "lambda", endpoint_url=self.endpoint, config=Config(retries={"max_attempts": 1})
        )

    def _run(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    def stop(self) -> None:
        self.invoker.stop()
        self._run(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def invoke(self, event: dict[str, Any], kind: str = "RequestResponse", name: str = FUNCTION) -> Any:
        return self.client.invoke(FunctionName=name, InvocationType=kind, Payload=json.dumps(event))

    def attempts(self, request_id: str) -> list[dict[str, Any]]:
        return [record for record in self.invoker.invocations() if record["request_id"] == request_id]

    def last(self, request_id: str) -> dict[str, Any]:
        """The invocation's latest attempt; {} while its first has not started."""
        return (self.attempts(request_id) or [{}])[-1]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 15.0) -> None:
        bound = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < bound, self.invoker.invocations()
            time.sleep(0.02)


def serve(**options: Any) -> Iterator[Served]:
    served = Served(LambdaInvoker({FUNCTION: HANDLER}, retry_delays=RETRY_DELAYS, **options))
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def lambda_api() -> Iterator[Served]:
    yield from serve()


@pytest.fixture
def short_deadline() -> Iterator[Served]:
    yield from serve(deadline_seconds=1.5)


def _request_id(response: dict[str, Any]) -> str:
    return str(response["ResponseMetadata"]["RequestId"])


def test_an_event_invocation_answers_202_at_once_while_its_handler_runs(lambda_api: Served) -> None:
    # Given a handler that cannot return until a second invocation of its group runs beside it
    first = lambda_api.invoke({"do": "meet", "group": "at-once", "parties": 2}, kind="Event")

    # Then the first invoke has been answered while its handler still waits
    assert first["StatusCode"] == 202
    assert first["Payload"].read() == b""
    request_id = _request_id(first)
    assert [record["state"] for record in lambda_api.attempts(request_id)] in (["queued"], ["running"])
    lambda_api.wait_for(lambda: lambda_api.last(request_id).get("state") == "running")

    second = lambda_api.invoke({"do": "meet", "group": "at-once", "parties": 2}, kind="Event")
    assert second["StatusCode"] == 202
    lambda_api.wait_for(
        lambda: all(
            [r["state"] for r in lambda_api.attempts(_request_id(response))] == ["succeeded"]
            for response in (first, second)
        )
    )


def test_event_invocations_run_in_parallel_each_in_its_own_environment(lambda_api: Served) -> None:
    # When five companions are invoked, each waiting for all five to run at once
    responses = [
        lambda_api.invoke({"do": "meet", "group": "five", "parties": 5, "timeout": 10}, kind="Event")
        for _ in range(5)
    ]

    # Then all five meet: none waited for another to finish
    ids = [_request_id(response) for response in responses]
    assert len(set(ids)) == 5
    lambda_api.wait_for(
        lambda: all(lambda_api.attempts(i) and lambda_api.attempts(i)[-1]["ended"] for i in ids)
    )
    for request_id in ids:
        assert [(r["attempt"], r["state"], r["error"]) for r in lambda_api.attempts(request_id)] == [
            (1, "succeeded", None)
        ]


def test_a_raising_handler_is_retried_twice_then_given_up(lambda_api: Served) -> None:
    response = lambda_api.invoke({"do": "raise"}, kind="Event")
    assert response["StatusCode"] == 202
    request_id = _request_id(response)

    lambda_api.wait_for(
        lambda: (
            len(lambda_api.attempts(request_id)) == 3 and bool(lambda_api.attempts(request_id)[-1]["ended"])
        )
    )

    attempts = lambda_api.attempts(request_id)
    assert [(r["attempt"], r["state"], r["error"]) for r in attempts] == [
        (1, "failed", "RuntimeError"),
        (2, "failed", "RuntimeError"),
        (3, "failed", "RuntimeError"),
    ]
    # Lambda's shape: a wait before each retry, the second twice the first; then no next attempt
    assert [r["next_attempt_at"] is not None for r in attempts] == [True, True, False]
    for earlier, later, delay in zip(attempts, attempts[1:], RETRY_DELAYS, strict=False):
        assert later["started"] - earlier["ended"] >= delay - 0.05
    # Given up: no fourth attempt is due
    assert attempts[-1]["next_attempt_at"] is None


def test_a_failure_is_logged_without_the_payload(
    lambda_api: Served, caplog: pytest.LogCaptureFixture
) -> None:
    response = lambda_api.invoke({"do": "raise", "secret_marker": "rtc_do_not_log"}, kind="Event")
    request_id = _request_id(response)
    lambda_api.wait_for(
        lambda: (
            len(lambda_api.attempts(request_id)) == 3 and bool(lambda_api.attempts(request_id)[-1]["ended"])
        )
    )

    failures = [record.getMessage() for record in caplog.records if request_id in record.getMessage()]
    assert len([line for line in failures if "failed: RuntimeError" in line]) == 3
    assert any("gave up after 3 attempts" in line for line in failures)
    assert "rtc_do_not_log" not in caplog.text


def test_retries_keep_the_request_id_as_lambda_does(lambda_api: Served) -> None:
    # Lambda's retries of one async event carry its request id (AWS Knowledge Center, "duplicate
    # invocations"); the attempt number tells them apart.
    request_id = _request_id(lambda_api.invoke({"do": "raise"}, kind="Event"))
    lambda_api.wait_for(lambda: len(lambda_api.attempts(request_id)) == 3)
    assert [r["attempt"] for r in lambda_api.attempts(request_id)] == [1, 2, 3]


def test_the_deadline_counts_down_from_the_emulated_one(short_deadline: Served) -> None:
    # A synchronous look at the context: the remaining time starts at the flag's 1.5 s
    seen = json.loads(short_deadline.invoke({"do": "describe"})["Payload"].read())
    assert 750 < seen["remaining_ms"] <= 1500
    assert seen["function_name"] == FUNCTION

    # A companion that hands over 300 ms before its deadline does so about 1.2 s after it started
    request_id = _request_id(short_deadline.invoke({"do": "until_deadline", "margin_ms": 300}, kind="Event"))
    short_deadline.wait_for(lambda: bool(short_deadline.last(request_id).get("ended")))
    [attempt] = short_deadline.attempts(request_id)
    assert attempt["state"] == "succeeded"
    assert 1.5 - 0.3 - 0.01 <= attempt["ended"] - attempt["started"] <= 1.5  # remaining_ms is truncated


def test_a_handler_past_its_deadline_is_timed_out_and_retried(short_deadline: Served) -> None:
    request_id = _request_id(short_deadline.invoke({"do": "overrun", "seconds": 2.0}, kind="Event"))
    short_deadline.wait_for(lambda: len(short_deadline.attempts(request_id)) >= 2)
    first = short_deadline.attempts(request_id)[0]
    assert (first["state"], first["error"]) == ("failed", "Sandbox.Timedout")
    assert first["ended"] - first["started"] >= 1.5 - 0.05


def test_each_invocation_has_a_request_id_and_an_environment_of_its_own(lambda_api: Served) -> None:
    first = json.loads(lambda_api.invoke({"do": "describe"})["Payload"].read())
    second = json.loads(lambda_api.invoke({"do": "describe"})["Payload"].read())
    assert first["request_id"] != second["request_id"]
    assert first["thread"] != second["thread"]
    # Without a flag the deadline is the function's timeout, Lambda's maximum
    assert 899_000 < first["remaining_ms"] <= 900_000


def test_request_response_reports_a_raised_error_as_lambda_does(lambda_api: Served) -> None:
    response = lambda_api.invoke({"do": "raise"})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("RuntimeError", "the handler was told to fail")
    assert error["requestId"] == _request_id(response)


def test_dry_run_answers_204_and_runs_nothing(lambda_api: Served) -> None:
    response = lambda_api.invoke({"do": "raise"}, kind="DryRun")
    assert response["StatusCode"] == 204
    assert lambda_api.invoker.invocations() == []


def test_an_unknown_function_is_lambdas_404(lambda_api: Served) -> None:
    for name in ("realtime-vend-test-Nope", f"{FUNCTION}:live"):
        with pytest.raises(lambda_api.client.exceptions.ResourceNotFoundException) as raised:
            lambda_api.invoke({"do": "describe"}, kind="Event", name=name)
        error = raised.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert (
            error["Error"]["Message"]
            == f"Function not found: arn:aws:lambda:us-east-1:123456789012:function:{name}"
        )
    assert lambda_api.invoker.invocations() == []


def test_a_function_is_found_by_its_arn(lambda_api: Served) -> None:
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"
    response = lambda_api.invoke({"do": "describe"}, name=arn)
    assert json.loads(response["Payload"].read())["function_name"] == FUNCTION


def test_a_payload_that_is_not_json_is_refused(lambda_api: Served) -> None:
    with pytest.raises(lambda_api.client.exceptions.InvalidRequestContentException):
        lambda_api.client.invoke(FunctionName=FUNCTION, InvocationType="Event", Payload=b"{not json")


def test_stop_gives_running_handlers_their_deadline_and_drops_waiting_retries() -> None:
    served = Served(LambdaInvoker({FUNCTION: HANDLER}, retry_delays=(60.0, 120.0)))
    try:
        handing_over = _request_id(served.invoke({"do": "until_deadline", "margin_ms": 0}, kind="Event"))
        failing = _request_id(served.invoke({"do": "raise"}, kind="Event"))
        served.wait_for(lambda: served.last(failing).get("next_attempt_at") is not None)
        served.wait_for(lambda: served.last(handing_over).get("state") == "running")
    finally:
        started = time.monotonic()
        served.stop()
    assert time.monotonic() - started < 5.0
    assert [r["state"] for r in served.attempts(handing_over)] == ["succeeded"]
    # The retry due in a minute was dropped, not run
    assert [(r["state"], r["next_attempt_at"]) for r in served.attempts(failing)] == [("failed", None)]


def test_an_invocation_without_an_idle_environment_pays_the_init_first(lambda_api: Served) -> None:
    # Given no idle environment and an init of 300 ms (the bench's cold companion)
    with urllib.request.urlopen(  # noqa: S310 - loopback
        urllib.request.Request(  # noqa: S310
            f"{lambda_api.endpoint}/__local/faults",
            data=json.dumps({"init_ms": 300}).encode(),
            headers={"Content-Type": "application/json"},
        ),
        timeout=10,
    ) as answer:
        assert json.loads(answer.read()) == {"ok": True}

    # When invoked, then invoked again once it returned
    sent = time.time()
    first = _request_id(lambda_api.invoke({"do": "describe"}))
    second = _request_id(lambda_api.invoke({"do": "describe"}))

    # Then the first paid the init before its handler started, the second found its environment idle
    [cold] = lambda_api.attempts(first)
    [warm] = lambda_api.attempts(second)
    assert (cold["cold"], warm["cold"]) == (True, False)
    assert cold["started"] - sent >= 0.3 - 0.01
    assert cold["started"] - cold["queued"] >= 0.3 - 0.01
    # An environment whose handler failed is not reused: the next invocation pays the init again
    lambda_api.invoke({"do": "raise"})
    after_failure = _request_id(lambda_api.invoke({"do": "describe"}))
    assert [r["cold"] for r in lambda_api.attempts(after_failure)] == [True]


def test_a_handler_module_that_cannot_be_imported_is_lambdas_import_error() -> None:
    served = Served(LambdaInvoker({FUNCTION: "tests.localstack.no_such_handler"}, retry_delays=RETRY_DELAYS))
    try:
        response = served.invoke({"do": "describe"})
    finally:
        served.stop()
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Runtime.ImportModuleError"
