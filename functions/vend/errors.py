"""Our exceptions and the one table that turns each into an HTTP status and a fixed message.

Messages are fixed sentences: nothing from the request, from AWS (ARNs, account ids) or from
OpenAI's body is ever echoed. The detail that helps an operator goes to the log line instead.
"""

from __future__ import annotations

from typing import ClassVar


class VendError(Exception):
    """An outcome the caller is told about: `status`, a snake_case `code` and one clear sentence."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    message: ClassVar[str] = "Something went wrong on our side. Please try again."

    def __init__(self, reason: str | None = None, *, upstream_status: int | None = None) -> None:
        # `reason` is for the log only (never a secret, never an upstream body).
        super().__init__(reason or self.code)
        self.reason = reason or self.code
        self.upstream_status = upstream_status

    @property
    def public_message(self) -> str:
        return self.message

    def headers(self) -> dict[str, str]:
        return {}


# --- the request -------------------------------------------------------------------------------


class InvalidJson(VendError):
    status, code = 400, "invalid_json"
    message = "The request body is not valid JSON."


class BodyNotObject(VendError):
    status, code = 400, "invalid_body"
    message = "The request body must be a JSON object."


class UnknownField(VendError):
    status, code = 400, "unknown_field"
    message = "The request body may only contain the field 'voice'."


class VoiceNotAllowed(VendError):
    status, code = 400, "voice_not_allowed"
    message = "That voice is not offered by this service."

    def __init__(self, allowed: tuple[str, ...]) -> None:
        super().__init__("voice_not_allowed")
        self.allowed = allowed

    @property
    def public_message(self) -> str:
        # The allow-list is the operator's public configuration, not the caller's input.
        return f"That voice is not offered by this service. Choose one of: {', '.join(self.allowed)}."


class BodyTooLarge(VendError):
    status, code = 413, "payload_too_large"
    message = "The request body must be at most 4096 bytes."


class UnsupportedMediaType(VendError):
    status, code = 415, "unsupported_media_type"
    message = "Send the request body as application/json."


class MethodNotAllowed(VendError):
    status, code = 405, "method_not_allowed"

    def __init__(self, allowed: tuple[str, ...]) -> None:
        super().__init__("method_not_allowed")
        self.allowed = allowed

    @property
    def public_message(self) -> str:
        return f"This path only accepts {' or '.join(self.allowed)}."

    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allowed)}


class RouteNotFound(VendError):
    status, code = 404, "not_found"
    message = "There is nothing at this path. The API serves POST /api/session."


# --- OpenAI ------------------------------------------------------------------------------------


class UpstreamRateLimited(VendError):
    status, code = 503, "upstream_rate_limited"
    message = "OpenAI is busy right now. Please try again shortly."

    def __init__(self, retry_after_seconds: int, *, upstream_status: int | None = 429) -> None:
        super().__init__("upstream_rate_limited", upstream_status=upstream_status)
        self.retry_after_seconds = retry_after_seconds

    @property
    def public_message(self) -> str:
        return f"OpenAI is busy right now. Please try again in {_seconds(self.retry_after_seconds)}."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class UpstreamQuotaExhausted(VendError):
    """OpenAI's quota or the project's spend limit is used up: retrying will not help, no Retry-After."""

    status, code = 503, "insufficient_quota"
    message = "The OpenAI account behind this service has no quota left. Please try again later."


class UpstreamSpendLimitReached(UpstreamQuotaExhausted):
    code = "project_spend_limit_exceeded"
    message = "The OpenAI project behind this service reached its spend limit. Please try again later."


class UpstreamUnavailable(VendError):
    """OpenAI answered 5xx, could not be reached, or answered 200 with something that is not a secret."""

    status, code = 502, "upstream_unavailable"
    message = "OpenAI could not create a session right now. Please try again."


class UpstreamTimeout(VendError):
    status, code = 504, "upstream_timeout"
    message = "OpenAI did not answer in time. Please try again."


# --- our own configuration ---------------------------------------------------------------------


class ServerMisconfigured(VendError):
    """Settings invalid, secret missing/empty/denied, or OpenAI rejecting the session we configured."""

    status, code = 500, "server_misconfigured"
    message = "This service is not configured correctly. Its operators need to check its setup."


class UpstreamUnauthorized(ServerMisconfigured):
    """OpenAI refused our key (401). Caught internally: the key is re-read once before giving up."""


class KeyNotStored(VendError):
    """The stack's secret still holds its placeholder: a code of its own, so tools need no text match."""

    status, code = 500, "key_not_stored"
    message = (
        "The OpenAI API key has not been stored in this stack's secret yet: "
        "run the put-secret-value command from the stack's outputs."
    )


class SecretsUnavailable(VendError):
    """Secrets Manager throttled us or failed: transient, so the caller may retry."""

    status, code = 503, "secrets_unavailable"
    message = "This service cannot read its configuration right now. Please try again shortly."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


def _seconds(count: int) -> str:
    return "1 second" if count == 1 else f"{count} seconds"
