"""AWS's errors become ours in one place (vend.aws.failures): for every service, a code that means the
deployment is wrong is 500 server_misconfigured, anything else is that service's retryable error,
and only the code travels on as the reason (never the message, which can hold an ARN)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from vend.aws.failures import MISCONFIGURATION_CODES, Service, translated
from vend.aws.parameters import ParameterUnavailable
from vend.errors import CallCapUnavailable, QuotaUnavailable, SecretsUnavailable, ServerMisconfigured

TRANSIENT: dict[Service, type[Exception]] = {
    "dynamodb": QuotaUnavailable,
    "secretsmanager": SecretsUnavailable,
    "ssm": ParameterUnavailable,
    "scheduler": CallCapUnavailable,
}
ARN = "arn:aws:iam::123456789012:role/realtime-vend-VendFunctionRole"


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"User: {ARN} is not authorized"}}, "Operation")


def wrapped(cause: Exception) -> Exception:
    """What Powertools Parameters raises: its own error, from botocore's, with the message copied."""
    try:
        raise cause
    except Exception as exc:
        try:
            raise RuntimeError(str(exc)) from exc
        except RuntimeError as outer:
            return outer


@pytest.mark.parametrize(
    ("service", "code"),
    [(service, code) for service, codes in MISCONFIGURATION_CODES.items() for code in sorted(codes)],
)
def test_each_misconfiguration_code_is_server_misconfigured(service: Service, code: str) -> None:
    error = translated(wrapped(client_error(code)), service, TRANSIENT[service])

    assert isinstance(error, ServerMisconfigured)
    assert str(error) == f"{service}_{code}"


@pytest.mark.parametrize("service", list(TRANSIENT))
def test_throttling_is_the_services_retryable_error(service: Service) -> None:
    error = translated(client_error("ThrottlingException"), service, TRANSIENT[service])

    assert type(error) is TRANSIENT[service]
    assert str(error) == f"{service}_ThrottlingException"
    assert ARN not in str(error)


@pytest.mark.parametrize("service", list(TRANSIENT))
def test_an_unreachable_service_is_retryable_and_named_by_type(service: Service) -> None:
    error = translated(
        EndpointConnectionError(endpoint_url="https://example.invalid"), service, TRANSIENT[service]
    )

    assert type(error) is TRANSIENT[service]
    assert str(error) == f"{service}_EndpointConnectionError"


@pytest.mark.parametrize("service", list(TRANSIENT))
def test_missing_credentials_are_server_misconfigured(service: Service) -> None:
    error = translated(wrapped(NoCredentialsError()), service, TRANSIENT[service])

    assert isinstance(error, ServerMisconfigured)
    assert str(error) == "aws_NoCredentialsError"
