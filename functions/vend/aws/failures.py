"""AWS's errors as ours, in one place: which codes mean the deployment is wrong, and what is transient.

A code that means the deployment is wrong (a missing resource, a denied role) is 500
server_misconfigured, missing credentials or region too; anything else (throttling, AWS's own
errors, timeouts, connection errors) is the service's transient error, which the caller may retry.
Powertools Parameters wraps botocore's error in its own, whose message can hold an ARN, so the
cause chain is searched for the code and only the code travels on, as the log reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from vend.errors import ServerMisconfigured

Service = Literal["dynamodb", "secretsmanager", "ssm", "scheduler"]

_DENIED = frozenset({"AccessDeniedException", "UnrecognizedClientException"})
MISCONFIGURATION_CODES: dict[Service, frozenset[str]] = {
    "dynamodb": _DENIED | {"ResourceNotFoundException", "ValidationException"},
    "secretsmanager": _DENIED
    | {
        "ResourceNotFoundException",
        "AccessDenied",
        "DecryptionFailure",
        "InvalidRequestException",  # e.g. the secret is scheduled for deletion
        "InvalidParameterException",
        "KMSAccessDeniedException",
    },
    "ssm": _DENIED | {"ParameterNotFound", "ValidationException"},
    "scheduler": _DENIED | {"ValidationException"},
}
_NO_CREDENTIALS = frozenset({"NoCredentialsError", "NoRegionError", "PartialCredentialsError"})


def translated(exc: Exception, service: Service, transient: Callable[[str], Exception]) -> Exception:
    """Our exception for `exc` from `service`: ServerMisconfigured, or `transient(reason)`."""
    cause: BaseException | None = exc
    while cause is not None:
        code = error_code(cause)
        if code is not None:
            if code in MISCONFIGURATION_CODES[service]:
                return ServerMisconfigured(f"{service}_{code}")
            return transient(f"{service}_{code}")
        if type(cause).__name__ in _NO_CREDENTIALS:
            return ServerMisconfigured(f"aws_{type(cause).__name__}")
        cause = cause.__cause__ or cause.__context__
    return transient(f"{service}_{type(exc).__name__}")


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError (duck-typed: botocore stays unimported here)."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code if isinstance(code, str) else None
