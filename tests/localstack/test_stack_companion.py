"""The local stack serves Lambda's Invoke API where the vend function's boto3 looks for it, under the
companion's name, and stops its companions cleanly (tests/localstack/async_handler.py stands in for
vend.companion.handler)."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local.moto_server import FAKE_CREDENTIALS, REGION
from local.stack import _options, _parse_args
from local.stack_options import COMPANION_FUNCTION_NAME
from local.stack_process import StackProcess

HANDLER = "tests.localstack.async_handler"
DEADLINE_SECONDS = 30


def _invocations(stack: StackProcess) -> list[dict[str, Any]]:
    with urllib.request.urlopen(stack.ready["invocations_url"], timeout=10) as response:  # noqa: S310 - loopback
        answer: list[dict[str, Any]] = json.loads(response.read())
    return answer


def _attempts_once_running(
    stack: StackProcess, request_id: str, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """The invocation's attempts, once the last has left the queue (it is listed from the 202 on)."""
    bound = time.monotonic() + timeout
    while True:
        attempts = [record for record in _invocations(stack) if record["request_id"] == request_id]
        if [r for r in attempts[-1:] if r["state"] != "queued"] or time.monotonic() > bound:
            return attempts
        time.sleep(0.05)


def test_the_flags_reach_the_stack_options() -> None:
    options = _options(
        _parse_args(
            [
                "--companion-deadline-seconds",
                "4",
                "--async-retry-seconds",
                "0.5",
                "--async-function",
                f"{COMPANION_FUNCTION_NAME}={HANDLER}",
            ]
        )
    )
    assert options.companion_deadline_seconds == 4.0
    assert options.async_retry_seconds == 0.5
    assert options.async_functions == {COMPANION_FUNCTION_NAME: HANDLER}
    # Without them: the function's own timeout, Lambda's delays in seconds, the companion's module
    assert _options(_parse_args(["--companion-max-seconds", "6"])).companion_deadline_seconds == 6.0
    defaults = _options(_parse_args([]))
    assert (defaults.companion_deadline_seconds, defaults.async_retry_seconds, defaults.async_functions) == (
        None,
        1.0,
        None,
    )


def test_the_stack_runs_the_companion_in_the_vend_functions_environment_and_stops_it(tmp_path: Path) -> None:
    report = tmp_path / "returned.json"
    with StackProcess(
        "--async-function",
        f"{COMPANION_FUNCTION_NAME}={HANDLER}",
        "--companion-deadline-seconds",
        str(DEADLINE_SECONDS),
    ) as stack:
        ready = stack.ready
        assert (ready["companion"], ready["companion_function"]) == (True, COMPANION_FUNCTION_NAME)
        client = boto3.session.Session(region_name=REGION, **FAKE_CREDENTIALS).client(
            "lambda", endpoint_url=ready["lambda_endpoint"], config=Config(retries={"max_attempts": 1})
        )

        # The companion sees the vend function's environment: the Lambda endpoint, its own name, the stand-in
        described = client.invoke(
            FunctionName=COMPANION_FUNCTION_NAME, Payload=json.dumps({"do": "describe"})
        )
        seen = json.loads(described["Payload"].read())
        assert seen["environment"] == {
            "AWS_ENDPOINT_URL_LAMBDA": ready["lambda_endpoint"],
            "COMPANION_FUNCTION_NAME": COMPANION_FUNCTION_NAME,
            "OPENAI_BASE_URL": stack.standin_url,
        }
        assert (DEADLINE_SECONDS - 5) * 1000 < seen["remaining_ms"] <= DEADLINE_SECONDS * 1000

        # A companion that holds on until its deadline is listed as running
        accepted = client.invoke(
            FunctionName=COMPANION_FUNCTION_NAME,
            InvocationType="Event",
            Payload=json.dumps({"do": "until_deadline", "margin_ms": 0, "report_to": str(report)}),
        )
        assert accepted["StatusCode"] == 202
        request_id = accepted["ResponseMetadata"]["RequestId"]
        running = _attempts_once_running(stack, request_id)
        assert [(r["function"], r["attempt"], r["state"]) for r in running] == [
            (COMPANION_FUNCTION_NAME, 1, "running")
        ]
        stopping = time.monotonic()
    # When the stack stops, long before that deadline, the companion is given it then and returns
    assert time.monotonic() - stopping < 10.0
    assert json.loads(report.read_text(encoding="utf-8")) == {"remaining_ms": 0}
