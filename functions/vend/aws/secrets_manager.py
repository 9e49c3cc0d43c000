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

from vend.errors import SecretsUnavailable, ServerMisconfigured

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

# Secrets Manager errors that mean the deployment is wrong, not that AWS is having a bad moment.
_MISCONFIGURATION_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "AccessDenied",
        "DecryptionFailure",
        "InvalidRequestException",  # e.g. the secret is scheduled for deletion
        "InvalidParameterException",
        "UnrecognizedClientException",
        "KMSAccessDeniedException",
    }
)
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
            raise _classify(exc) from exc


def _classify(exc: Exception) -> Exception:
    # Powertools wraps the botocore error in GetParameterError(str(exc)); the message can hold an ARN,
    # so only the error code travels on, as the log reason.
    cause: BaseException | None = exc
    while cause is not None:
        code = _client_error_code(cause)
        if code is not None:
            if code in _MISCONFIGURATION_CODES:
                return ServerMisconfigured(f"secretsmanager_{code}")
            return SecretsUnavailable(f"secretsmanager_{code}")
        if type(cause).__name__ in {"NoCredentialsError", "NoRegionError", "PartialCredentialsError"}:
            return ServerMisconfigured(f"aws_{type(cause).__name__}")
        cause = cause.__cause__ or cause.__context__
    return SecretsUnavailable(f"secretsmanager_{type(exc).__name__}")


def _client_error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str):
            return code
    return None
