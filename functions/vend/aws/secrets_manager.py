"""Reading a secret from AWS Secrets Manager through Powertools Parameters, with AWS's errors as ours.

The boto3 client is built once, at init (where Lambda gives a full vCPU), with timeouts short enough
that a slow Secrets Manager becomes a clear 503 within the invocation instead of Lambda's timeout.
Powertools does the caching (max age from settings).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

from vend.aws.failures import translated
from vend.errors import SecretsUnavailable

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

_CLIENT_CONFIG = Config(
    connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2}
)


class SecretsManagerReader:
    """`get()` returns the secret's value or raises ServerMisconfigured / SecretsUnavailable."""

    def __init__(self, client: SecretsManagerClient | None = None) -> None:
        self._provider = SecretsProvider(
            boto3_client=client or boto3.client("secretsmanager", config=_CLIENT_CONFIG)
        )

    def get(self, name: str, *, max_age: int, force_fetch: bool) -> object:
        try:
            return self._provider.get(name, max_age=max_age, force_fetch=force_fetch)
        except Exception as exc:
            raise translated(exc, "secretsmanager", SecretsUnavailable) from exc
