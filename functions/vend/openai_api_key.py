"""The OpenAI API key, read from AWS Secrets Manager, cached, and re-read when OpenAI rejects it.

Powertools Parameters does the caching (max age from settings). We add a lock so that concurrent
first requests in one process read the secret once (Powertools has no single-flight), and a forced
re-read for key rotation. boto3 is imported on first use, not at cold start: it is the heaviest import
on the path and a request that fails earlier never needs it.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Protocol

from vend.errors import KeyNotStoredYet, SecretsUnavailable, ServerMisconfigured
from vend.secret_values import OpenAIApiKey

if TYPE_CHECKING:
    from collections.abc import Callable

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
PLACEHOLDER_PREFIX = "REPLACE_ME"  # what the stack stores until the operator puts the key in


class SecretReader(Protocol):
    def get(self, name: str, *, max_age: int, force_fetch: bool) -> object: ...


def _powertools_reader() -> SecretReader:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider  # noqa: PLC0415

    provider = SecretsProvider()

    class _Reader:
        def get(self, name: str, *, max_age: int, force_fetch: bool) -> object:
            return provider.get(name, max_age=max_age, force_fetch=force_fetch)

    return _Reader()


class OpenAIApiKeySource:
    def __init__(
        self,
        secret_id: str,
        max_age_seconds: int,
        reader_factory: Callable[[], SecretReader] = _powertools_reader,
    ) -> None:
        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._reader_factory = reader_factory
        self._reader: SecretReader | None = None
        self._lock = threading.Lock()

    def current(self) -> OpenAIApiKey:
        """The cached key, read from Secrets Manager when the cache is empty or older than max age."""
        with self._lock:
            return self._read(force=False)

    def refreshed(self) -> OpenAIApiKey:
        """Bypass the cache: called once when OpenAI answers 401, which is what a rotation looks like."""
        with self._lock:
            return self._read(force=True)

    def _read(self, *, force: bool) -> OpenAIApiKey:
        if self._reader is None:
            self._reader = self._reader_factory()
        try:
            raw = self._reader.get(self._secret_id, max_age=self._max_age, force_fetch=force)
        except Exception as exc:
            raise _classify(exc) from exc
        return parse_secret_value(raw)


def parse_secret_value(raw: object) -> OpenAIApiKey:
    """Accept a plain `sk-…` string or JSON `{"api_key": "sk-…"}` (the console's key/value form)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("{"):
            try:
                raw = json.loads(text)
            except ValueError:
                raise ServerMisconfigured("secret_not_json_or_key") from None
        else:
            raw = text
    if isinstance(raw, dict):
        raw = raw.get("api_key", "")
    if not isinstance(raw, str) or not raw.strip():
        raise ServerMisconfigured("secret_empty")
    value = raw.strip()
    if value.startswith(PLACEHOLDER_PREFIX):
        raise KeyNotStoredYet("secret_is_placeholder")
    if not value.startswith("sk-") or any(c.isspace() for c in value):
        raise ServerMisconfigured("secret_not_an_openai_key")
    return OpenAIApiKey(value)


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
