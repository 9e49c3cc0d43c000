"""EventBridge Scheduler's firing, which moto leaves out: one-time `at(...)` schedules run locally.

moto's server stores schedules (CreateSchedule, GetSchedule, ListSchedules, DeleteSchedule) but never
fires them. `ScheduleRunner` polls one schedule group through the same Scheduler API the function
writes to (ListSchedules, then GetSchedule for each schedule it has not read yet, as ListSchedules'
summaries carry no expression or input), and when a schedule's time has come it hands the target's
`Input`, parsed, to `invoke` and deletes the schedule, as `ActionAfterCompletion: DELETE` does after
the last invocation. A schedule deleted before its time is never fired.

Differences from the service, on purpose: it fires within `interval` seconds of the time (the service
within a minute of it, with FlexibleTimeWindow OFF); a failed invocation is retried `attempts` times
at `interval` (the service retries with backoff for up to a day); rate()/cron() schedules are ignored
(the stack makes none).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.moto_server import FAKE_CREDENTIALS, REGION

logger = logging.getLogger(__name__)

_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
Invoke = Callable[[Any], object]


def due_at(expression: str, timezone: str | None = None) -> float | None:
    """Epoch seconds of a one-time `at(yyyy-mm-ddThh:mm:ss)` expression, or None for anything else.

    The time is in `timezone` (ScheduleExpressionTimezone), UTC when absent, as the service reads it.
    """
    match = _AT.match(expression.strip())
    if match is None:
        return None
    naive = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")  # the zone is set below
    if timezone and timezone != "UTC":
        from zoneinfo import ZoneInfo  # noqa: PLC0415 - rare here, and 20 ms at the stack's start

        return naive.replace(tzinfo=ZoneInfo(timezone)).timestamp()
    return naive.replace(tzinfo=UTC).timestamp()


@dataclass
class _Known:
    """What GetSchedule said about one schedule version, and how often it has been tried."""

    due: float | None
    payload: Any
    enabled: bool
    delete_after: bool  # ActionAfterCompletion DELETE; NONE keeps a spent schedule, never fired again
    failures: int = 0
    spent: bool = False


class ScheduleRunner:
    """Fires the due one-time schedules of `group` at `endpoint` (moto) by calling `invoke(input)`.

    `start()` runs it in a daemon thread until `stop()`; `poll_once()` does one pass (tests).
    `fired` counts invocations that returned, `failed` those that raised.
    """

    def __init__(
        self,
        endpoint: str,
        group: str,
        invoke: Invoke,
        *,
        interval: float = 0.5,
        attempts: int = 3,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._endpoint = endpoint
        self._group = group
        self._invoke = invoke
        self._interval = interval
        self._attempts = attempts
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: Any = None
        # Keyed by (name, LastModificationDate): an updated schedule is read again.
        self._known: dict[tuple[str, str], _Known] = {}
        self.fired = 0
        self.failed = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="local-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.poll_once()
            except Exception:  # moto gone at shutdown, or a transient error: try again next time
                if not self._stop.is_set():
                    logger.exception("local scheduler: poll failed")

    def _scheduler(self) -> Any:
        if self._client is None:
            import boto3  # noqa: PLC0415 - the client's model loads in this thread, not at stack start
            from botocore.config import Config  # noqa: PLC0415

            self._client = boto3.session.Session(
                region_name=REGION,
                aws_access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
                aws_secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"],
            ).client(
                "scheduler",
                endpoint_url=self._endpoint,
                config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5),
            )
        return self._client

    def poll_once(self) -> int:
        """One pass: fire and delete every due schedule of the group. Returns how many were fired."""
        client = self._scheduler()
        summaries: list[dict[str, Any]] = []
        for page in client.get_paginator("list_schedules").paginate(GroupName=self._group):
            summaries.extend(page.get("Schedules", []))
        seen: set[tuple[str, str]] = set()
        fired = 0
        for summary in summaries:
            key = (str(summary["Name"]), str(summary.get("LastModificationDate", "")))
            seen.add(key)
            known = self._known.get(key)
            if known is None:
                known = self._read(client, key[0])
                if known is None:  # deleted since the listing
                    continue
                self._known[key] = known
            if known.spent or not known.enabled or known.due is None or known.due > self._clock():
                continue
            if self._fire(client, key[0], known):
                fired += 1
        for gone in set(self._known) - seen:
            del self._known[gone]
        return fired

    def _read(self, client: Any, name: str) -> _Known | None:
        try:
            schedule = client.get_schedule(Name=name, GroupName=self._group)
        except client.exceptions.ResourceNotFoundException:
            return None
        raw_input = (schedule.get("Target") or {}).get("Input")
        try:
            payload = json.loads(raw_input) if raw_input else {}
        except ValueError:
            payload = raw_input  # the service passes a non-JSON Input through as a string
        return _Known(
            due=due_at(
                str(schedule.get("ScheduleExpression", "")), schedule.get("ScheduleExpressionTimezone")
            ),
            payload=payload,
            enabled=schedule.get("State", "ENABLED") == "ENABLED",
            delete_after=schedule.get("ActionAfterCompletion") == "DELETE",
        )

    def _fire(self, client: Any, name: str, known: _Known) -> bool:
        try:
            self._invoke(known.payload)
        except Exception:
            self.failed += 1
            known.failures += 1
            logger.exception(
                "local scheduler: %s failed (attempt %d of %d)", name, known.failures, self._attempts
            )
            if known.failures < self._attempts:
                return False
        else:
            self.fired += 1
        known.spent = True
        if not known.delete_after:
            return True
        # ActionAfterCompletion DELETE: the service deletes it after its last invocation.
        # (Already gone when the function deleted it itself.)
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_schedule(Name=name, GroupName=self._group)
        return True
