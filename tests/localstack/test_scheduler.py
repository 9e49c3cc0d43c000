"""The local scheduler: moto stores the calls' schedules, local.scheduler fires them when they are due.

Schedules are written as the function writes them (boto3's Scheduler client against moto's server):
one-time `at(<UTC>)`, FlexibleTimeWindow OFF, ActionAfterCompletion DELETE, Input `{"call_id": …}`.
The invoked handler here is a recorder; the stack wires in `vend.hangup.lambda_handler`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from local.moto_server import FAKE_CREDENTIALS, REGION, MotoServer
from local.scheduler import ScheduleRunner, due_at

GROUP = "realtime-vend-local-calls"
TARGET = "arn:aws:lambda:us-east-1:123456789012:function:realtime-vend-local-HangupFunction"
ROLE = "arn:aws:iam::123456789012:role/realtime-vend-local-SchedulerRole"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with MotoServer() as moto:
        moto.create(schedule_groups=[GROUP])
        yield moto.endpoint


@pytest.fixture
def scheduler(moto_endpoint: str) -> Iterator[Any]:
    client = boto3.client(
        "scheduler",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"],
    )
    yield client
    for schedule in client.list_schedules(GroupName=GROUP)["Schedules"]:
        client.delete_schedule(Name=schedule["Name"], GroupName=GROUP)


def at(epoch: float) -> str:
    return f"at({datetime.fromtimestamp(epoch, UTC):%Y-%m-%dT%H:%M:%S})"


def create(client: Any, name: str, when: float, *, after: str = "DELETE") -> None:
    """The schedule the function creates for a call that ends at `when`."""
    client.create_schedule(
        Name=name,
        GroupName=GROUP,
        ScheduleExpression=at(when),
        ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion=after,
        Target={"Arn": TARGET, "RoleArn": ROLE, "Input": json.dumps({"call_id": name})},
    )


def names(client: Any) -> set[str]:
    return {schedule["Name"] for schedule in client.list_schedules(GroupName=GROUP)["Schedules"]}


class Recorder:
    """The hangup handler's stand-in: records each event and when it came."""

    def __init__(self, fail_times: int = 0) -> None:
        self.calls: list[tuple[float, Any]] = []
        self._fail_times = fail_times
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> object:
        with self._lock:
            self.calls.append((time.time(), event))
            if len(self.calls) <= self._fail_times:
                raise RuntimeError("the hangup function failed")
        return {"ok": True}


def test_at_expressions_are_read_in_utc_or_their_timezone() -> None:
    assert due_at("at(2026-12-02T05:30:00)") == datetime(2026, 12, 2, 5, 30, tzinfo=UTC).timestamp()
    assert due_at("at(2026-12-02T06:30:00)", "Europe/Paris") == due_at("at(2026-12-02T05:30:00)")
    assert due_at("rate(5 minutes)") is None
    assert due_at("cron(0 12 * * ? *)") is None


def test_a_due_schedule_fires_once_at_its_time_with_its_input_and_is_deleted(scheduler: Any) -> None:
    recorder = Recorder()
    runner = ScheduleRunner(scheduler.meta.endpoint_url, GROUP, recorder, interval=0.1)
    # Whole seconds, as `at()` has them; 2 s ahead so the runner sees it while it is not due yet.
    due = float(int(time.time()) + 2)
    create(scheduler, "call_due", due)
    create(scheduler, "call_later", due + 3600)
    runner.start()
    try:
        deadline = time.time() + 8
        while not recorder.calls and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # several more polls: a fired schedule must not fire again
    finally:
        runner.stop()
    assert len(recorder.calls) == 1
    fired_at, event = recorder.calls[0]
    assert event == {"call_id": "call_due"}
    assert due <= fired_at < due + 1.0  # never early; within a poll or so of its time
    assert names(scheduler) == {"call_later"}  # ActionAfterCompletion DELETE; the later one waits


def test_a_schedule_deleted_before_its_time_never_fires(scheduler: Any) -> None:
    recorder = Recorder()
    now = [time.time()]
    runner = ScheduleRunner(scheduler.meta.endpoint_url, GROUP, recorder, clock=lambda: now[0])
    create(scheduler, "call_ended_early", now[0] + 30)
    assert runner.poll_once() == 0  # seen, not due
    scheduler.delete_schedule(Name="call_ended_early", GroupName=GROUP)  # the page ended the call
    now[0] += 60
    assert runner.poll_once() == 0
    assert recorder.calls == []


def test_a_failing_hangup_is_retried_then_the_schedule_is_deleted(scheduler: Any) -> None:
    recorder = Recorder(fail_times=10)
    now = [time.time() + 60]
    runner = ScheduleRunner(scheduler.meta.endpoint_url, GROUP, recorder, attempts=3, clock=lambda: now[0])
    create(scheduler, "call_flaky", now[0] - 1)
    for _ in range(5):
        runner.poll_once()
    assert [event for _, event in recorder.calls] == [{"call_id": "call_flaky"}] * 3
    assert runner.failed == 3
    assert names(scheduler) == set()


def test_a_failure_then_a_success_fires_it_once_more_only(scheduler: Any) -> None:
    recorder = Recorder(fail_times=1)
    now = [time.time() + 60]
    runner = ScheduleRunner(scheduler.meta.endpoint_url, GROUP, recorder, clock=lambda: now[0])
    create(scheduler, "call_retried", now[0] - 1)
    for _ in range(4):
        runner.poll_once()
    assert len(recorder.calls) == 2
    assert (runner.failed, runner.fired) == (1, 1)
    assert names(scheduler) == set()


def test_without_delete_after_completion_a_spent_schedule_stays_and_never_fires_again(
    scheduler: Any,
) -> None:
    recorder = Recorder()
    now = [time.time() + 60]
    runner = ScheduleRunner(scheduler.meta.endpoint_url, GROUP, recorder, clock=lambda: now[0])
    create(scheduler, "call_kept", now[0] - 1, after="NONE")
    for _ in range(3):
        runner.poll_once()
    assert len(recorder.calls) == 1
    assert names(scheduler) == {"call_kept"}


def test_a_disabled_schedule_does_not_fire(scheduler: Any) -> None:
    recorder = Recorder()
    now = [time.time() + 60]
    runner = ScheduleRunner(scheduler.meta.endpoint_url, GROUP, recorder, clock=lambda: now[0])
    create(scheduler, "call_disabled", now[0] - 1)
    schedule = scheduler.get_schedule(Name="call_disabled", GroupName=GROUP)
    scheduler.update_schedule(
        Name="call_disabled",
        GroupName=GROUP,
        ScheduleExpression=schedule["ScheduleExpression"],
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=schedule["Target"],
        State="DISABLED",
    )
    runner.poll_once()
    assert recorder.calls == []
    assert names(scheduler) == {"call_disabled"}
