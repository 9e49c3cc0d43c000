"""One EventBridge Scheduler one-time schedule per relayed call: the server-enforced end.

`at(…)` in UTC, no flexible window, deleted by Scheduler once it has fired (ActionAfterCompletion
DELETE), and by us when the page ends the call first. Scheduler fires within a minute of its time.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from vend.aws.failures import error_code, translated
from vend.errors import CallCapUnavailable

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

_CLIENT_CONFIG = Config(
    connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2}
)


class CallSchedules:
    def __init__(
        self,
        group: str,
        target_arn: str,
        role_arn: str,
        client: EventBridgeSchedulerClient | None = None,
    ) -> None:
        self._group = group
        self._target_arn = target_arn
        self._role_arn = role_arn
        self._built = client

    @property
    def _client(self) -> EventBridgeSchedulerClient:
        # Built on first use: a stack that only hands out client secrets never pays for it at init.
        if self._built is None:
            self._built = boto3.client("scheduler", config=_CLIENT_CONFIG)
        return self._built

    def create(self, call_id: str, at_epoch: int) -> None:
        at = dt.datetime.fromtimestamp(at_epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        try:
            self._client.create_schedule(
                Name=call_id,
                GroupName=self._group,
                ScheduleExpression=f"at({at})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": self._target_arn,
                    "RoleArn": self._role_arn,
                    "Input": json.dumps({"call_id": call_id}),
                },
            )
        except Exception as exc:
            raise translated(exc, "scheduler", CallCapUnavailable) from exc

    def delete(self, call_id: str) -> bool:
        """False if there was nothing to delete (it fired already, or never existed)."""
        try:
            self._client.delete_schedule(Name=call_id, GroupName=self._group)
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return False
            raise translated(exc, "scheduler", CallCapUnavailable) from exc
        return True
