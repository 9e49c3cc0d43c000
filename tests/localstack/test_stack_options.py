"""The local stack's call flags reach the function's environment, under the names the template sets."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from local.function_env import function_environment
from local.stack import _parse_args
from local.stack_options import (
    ORIGIN_VERIFY_SECRET_NAME,
    SCHEDULE_GROUP,
    SECRET_NAME,
    VISITOR_KEY_SECRET_NAME,
    StackOptions,
)
from template_contract.reader import load_template

MOTO = "http://127.0.0.1:5999"
CALL_VARIABLES = (
    "CALL_MODE",
    "MAX_CALL_SECONDS",
    "CONCURRENT_CALLS_PER_VISITOR",
    "CALL_MINUTES_PER_VISITOR",
    "CALL_MINUTES_PER_DAY",
)


def _environment(options: StackOptions) -> dict[str, str]:
    """What the stack would hand the handler, without starting anything."""
    moto = SimpleNamespace(
        endpoint=MOTO,
        arns={
            SECRET_NAME: "arn:aws:secretsmanager:us-east-1:123456789012:secret:key",
            ORIGIN_VERIFY_SECRET_NAME: "arn:origin",
            VISITOR_KEY_SECRET_NAME: "arn:visitor",
        },
    )
    template = load_template(options.template)
    return function_environment(options, template, moto, "http://127.0.0.1:5997")  # type: ignore[arg-type]


def test_the_call_flags_reach_the_handlers_environment() -> None:
    args = _parse_args(
        [
            "--mode",
            "both",
            "--concurrent-calls",
            "3",
            "--max-call-seconds",
            "10",
            "--call-minutes-per-visitor",
            "7",
            "--call-minutes-per-day",
            "90",
        ]
    )
    env = _environment(
        StackOptions(
            mode=args.mode,
            concurrent_calls=args.concurrent_calls,
            max_call_seconds=args.max_call_seconds,
            call_minutes_per_visitor=args.call_minutes_per_visitor,
            call_minutes_per_day=args.call_minutes_per_day,
        )
    )
    assert [env[name] for name in CALL_VARIABLES] == ["both", "10", "3", "7", "90"]
    # The schedules go to moto, in the group the stack created, aimed at a hangup function's ARN.
    assert env["AWS_ENDPOINT_URL_SCHEDULER"] == MOTO
    # So does every other AWS call: one moto server is the stack's Secrets Manager, SSM and DynamoDB.
    services = ("SECRETS_MANAGER", "SSM", "DYNAMODB")
    assert {env[f"AWS_ENDPOINT_URL_{service}"] for service in services} == {MOTO}
    assert env["SCHEDULE_GROUP_NAME"] == SCHEDULE_GROUP
    assert env["HANGUP_FUNCTION_ARN"].startswith("arn:aws:lambda:us-east-1:123456789012:function:")
    assert env["SCHEDULER_ROLE_ARN"].startswith("arn:aws:iam::123456789012:role/")


def test_a_mode_outside_the_three_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse_args(["--mode", "websocket"])
    assert "invalid choice" in capsys.readouterr().err
