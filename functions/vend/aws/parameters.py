"""Reading one SSM parameter (the pause switch) through Powertools Parameters, with AWS's errors as ours.

Powertools caches the value for `max_age` seconds, so a warm function asks SSM at most once per max
age: a flip of the switch reaches every warm function within that time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from aws_lambda_powertools.utilities.parameters import SSMProvider
from botocore.config import Config

from vend.aws.failures import translated

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

_CLIENT_CONFIG = Config(
    connect_timeout=1, read_timeout=1, retries={"mode": "standard", "total_max_attempts": 2}
)


class ParameterUnavailable(Exception):
    """SSM throttled us, failed or could not be reached: transient; `reason` is for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SsmParameterReader:
    """`get()` returns the parameter's value, or raises ServerMisconfigured / ParameterUnavailable."""

    def __init__(self, client: SSMClient | None = None) -> None:
        self._provider = SSMProvider(boto3_client=client or boto3.client("ssm", config=_CLIENT_CONFIG))

    def get(self, name: str, *, max_age: int) -> str:
        try:
            value = self._provider.get(name, max_age=max_age)
        except Exception as exc:
            raise translated(exc, "ssm", ParameterUnavailable) from exc
        return value if isinstance(value, str) else str(value)
