"""Our exceptions and the one table that turns each into an HTTP status and a fixed message.

Messages are fixed sentences: nothing from the request, from AWS (ARNs, account ids) or from
OpenAI's body is ever echoed. The detail that helps an operator goes to the log line instead.
"""

from __future__ import annotations

from typing import ClassVar, Literal


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


class Forbidden(VendError):
    """Not through our CloudFront distribution: generic on purpose, it tells a prober nothing."""

    status, code = 403, "forbidden"
    message = "Forbidden."


class SignInRequired(VendError):
    """An issuer is configured but no authorizer vouched for a subject: the API in front is not the
    signed-in one (a misconfiguration), or the route was reached around it. Never minted anonymously."""

    status, code = 401, "sign_in_required"
    message = "Sign in to start a call."

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class CrossSiteRequest(VendError):
    """Another site's page (a form, `no-cors` fetch or beacon) tried to mint with its visitor's browser."""

    status, code = 403, "cross_site_request"
    message = "This API only serves its own page."


class InvalidOffer(VendError):
    status, code = 400, "invalid_offer"
    message = "The request body must be a WebRTC SDP offer with one audio section and one data channel."


class OfferTooLarge(VendError):
    status, code = 413, "payload_too_large"
    message = "The SDP offer must be at most 32768 bytes."


class OfferNotSdp(VendError):
    status, code = 415, "unsupported_media_type"
    message = "Send the SDP offer as application/sdp."


class CallBodyTooLarge(VendError):
    """A GPT-Live call's JSON body (offer and conversation) over its limit."""

    status, code = 413, "payload_too_large"
    message = "The request body must be at most 98304 bytes."


class UnknownCallField(VendError):
    status, code = 400, "unknown_field"
    message = "The request body may only contain the fields 'sdp' and 'conversation'."


class InvalidConversation(VendError):
    status, code = 400, "invalid_conversation"
    message = (
        'The conversation must be a list of messages, each {"role": "user" or "assistant", "text": a string}.'
    )


class OfferNotSdpOrJson(OfferNotSdp):
    """A GPT-Live stack also takes the offer inside JSON (with the conversation so far)."""

    message = "Send the SDP offer as application/sdp, or as application/json with the conversation."


class NotEnabled(VendError):
    """The endpoint exists but this stack's CallMode switches it off."""

    status, code = 404, "not_enabled"

    def __init__(self, endpoint: str) -> None:
        super().__init__(f"not_enabled_{endpoint}")
        self.endpoint = endpoint

    @property
    def public_message(self) -> str:
        if self.endpoint == "calls":
            return "This service does not relay calls: it hands out client secrets at POST /api/session."
        return "This service does not hand out client secrets: it relays calls at POST /api/call."


class CallNotFound(VendError):
    """Unknown, or another visitor's: the same answer, so ids cannot be probed."""

    status, code = 404, "call_not_found"
    message = "There is no call of yours with that id."


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
    message = (
        "There is nothing at this path. The API serves POST /api/session, POST /api/call and "
        "DELETE /api/call/{id}."
    )


# --- limits ------------------------------------------------------------------------------------


class ServicePaused(VendError):
    status, code = 503, "service_paused"
    message = "This service is paused by its operators. Please try again later."
    RETRY_AFTER_SECONDS = 60

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.RETRY_AFTER_SECONDS)}


class _RetryLater(VendError):
    """A refusal with a true Retry-After, in whole seconds (at least 1)."""

    def __init__(self, reason: str, retry_after_seconds: int) -> None:
        super().__init__(reason)
        self.retry_after_seconds = max(1, retry_after_seconds)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class QuotaExceeded(_RetryLater):
    status, code = 429, "quota_exceeded"

    def __init__(self, *, limit: int, window_seconds: int, retry_after_seconds: int) -> None:
        super().__init__("visitor_quota_spent", retry_after_seconds)
        self.limit = limit
        self.window_seconds = window_seconds

    @property
    def public_message(self) -> str:
        sessions = "1 session" if self.limit == 1 else f"{self.limit} sessions"
        return (
            f"You have started {sessions} in {duration(self.window_seconds)}, the most this service "
            f"allows. You can start another in {duration(self.retry_after_seconds)}."
        )


class DailyCapReached(_RetryLater):
    status, code = 429, "daily_cap_reached"

    def __init__(self, *, cap: int, retry_after_seconds: int) -> None:
        super().__init__("daily_cap_reached", retry_after_seconds)
        self.cap = cap

    @property
    def public_message(self) -> str:
        return (
            f"This service has started all {self.cap} sessions it allows per day. It starts new ones "
            f"again at 00:00 UTC, in {duration(self.retry_after_seconds)}."
        )


class QuotaUnavailable(_RetryLater):
    """DynamoDB throttled or unreachable: the limit fails closed, the caller may retry soon."""

    status, code = 503, "quota_unavailable"
    RETRY_AFTER_SECONDS = 2

    def __init__(self, reason: str) -> None:
        super().__init__(reason, self.RETRY_AFTER_SECONDS)

    @property
    def public_message(self) -> str:
        return (
            "This service cannot check its usage limits right now. "
            f"Please try again in {duration(self.retry_after_seconds)}."
        )


class ConcurrentCalls(_RetryLater):
    status, code = 429, "concurrent_calls"

    def __init__(self, *, limit: int, retry_after_seconds: int) -> None:
        super().__init__("concurrent_calls", retry_after_seconds)
        self.limit = limit

    @property
    def public_message(self) -> str:
        calls = "one call" if self.limit == 1 else f"{self.limit} calls"
        return (
            f"You already have {calls} open, the most this service allows at once. End it to start "
            f"another, or wait: the oldest ends in {duration(self.retry_after_seconds)}."
        )


class CallMinutesSpent(_RetryLater):
    """The visitor's call-minutes for today (code quota_exceeded, like the client-secret quota)."""

    status, code = 429, "quota_exceeded"

    def __init__(self, *, minutes: int, retry_after_seconds: int) -> None:
        super().__init__("visitor_call_minutes_spent", retry_after_seconds)
        self.minutes = minutes

    @property
    def public_message(self) -> str:
        return (
            f"You have used the {self.minutes} call-minutes this service allows you per day. They "
            f"renew at 00:00 UTC, in {duration(self.retry_after_seconds)}."
        )


class CallMinutesCapReached(_RetryLater):
    status, code = 429, "daily_cap_reached"

    def __init__(self, *, minutes: int, retry_after_seconds: int) -> None:
        super().__init__("stack_call_minutes_spent", retry_after_seconds)
        self.minutes = minutes

    @property
    def public_message(self) -> str:
        return (
            f"This service has used all {self.minutes} call-minutes it allows per day. It starts new "
            f"calls again at 00:00 UTC, in {duration(self.retry_after_seconds)}."
        )


class SpendCapReached(_RetryLater):
    """The metered dollars of today's calls reached the visitor's or the stack's budget."""

    status, code = 429, "spend_cap_reached"

    def __init__(self, *, who: Literal["visitor", "stack"], retry_after_seconds: int) -> None:
        super().__init__(f"{who}_spend_cap_reached", retry_after_seconds)
        self.who = who

    @property
    def public_message(self) -> str:
        wait = duration(self.retry_after_seconds)
        if self.who == "visitor":
            return (
                "You have used the calls this service allows you per day. They renew at 00:00 UTC, "
                f"in {wait}."
            )
        return (
            "This service has used its budget for calls today. It starts new calls again at 00:00 UTC, "
            f"in {wait}."
        )


class CallCapUnavailable(_RetryLater):
    """The call's hangup could not be scheduled: without a server-enforced end, no call is started."""

    status, code = 503, "call_cap_unavailable"
    RETRY_AFTER_SECONDS = 5

    def __init__(self, reason: str) -> None:
        super().__init__(reason, self.RETRY_AFTER_SECONDS)

    @property
    def public_message(self) -> str:
        wait = duration(self.retry_after_seconds)
        return f"This service cannot start a call right now. Please try again in {wait}."


class PauseStateUnavailable(_RetryLater):
    """The pause switch could not be read and no earlier reading is recent enough: fail closed."""

    status, code = 503, "temporarily_unavailable"
    RETRY_AFTER_SECONDS = 5

    def __init__(self, reason: str) -> None:
        super().__init__(reason, self.RETRY_AFTER_SECONDS)

    @property
    def public_message(self) -> str:
        wait = duration(self.retry_after_seconds)
        return f"This service is briefly unavailable. Please try again in {wait}."


# --- OpenAI ------------------------------------------------------------------------------------


class UpstreamRateLimited(VendError):
    status, code = 503, "upstream_rate_limited"
    message = "OpenAI is busy right now. Please try again shortly."

    def __init__(self, retry_after_seconds: int, *, upstream_status: int | None = 429) -> None:
        super().__init__("upstream_rate_limited", upstream_status=upstream_status)
        self.retry_after_seconds = retry_after_seconds

    @property
    def public_message(self) -> str:
        return f"OpenAI is busy right now. Please try again in {duration(self.retry_after_seconds)}."

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


def duration(seconds: int) -> str:
    """`seconds` for a person: "1 second", "4 minutes 10 seconds", "5 hours 12 minutes".

    From an hour on, whole minutes, rounded up: a sentence that says when to come back must never
    say a moment too early.
    """
    seconds = max(0, seconds)
    if seconds >= 3600:
        minutes = -(-seconds // 60)
        return _units((minutes // 60, "hour"), (minutes % 60, "minute"))
    return _units((seconds // 60, "minute"), (seconds % 60, "second")) or "0 seconds"


def _units(*counts: tuple[int, str]) -> str:
    return " ".join(f"{n} {name}" if n == 1 else f"{n} {name}s" for n, name in counts if n)
