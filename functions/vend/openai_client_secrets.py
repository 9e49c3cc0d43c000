"""`POST /v1/realtime/client_secrets` over httpx, and the translation of its failures into ours.

The only module that knows httpx. One `httpx.Client` lives for the whole execution environment so
warm requests reuse the TLS connection. Every attempt is bounded by explicit timeouts and by the
invocation's remaining time; at most one retry, with jitter, on connect errors, 429 rate limits and
5xx. A 401 is not retried here: the caller re-reads the key first (rotation).
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from vend.errors import (
    ServerMisconfigured,
    UpstreamQuotaExhausted,
    UpstreamRateLimited,
    UpstreamSpendLimitReached,
    UpstreamTimeout,
    UpstreamUnauthorized,
    UpstreamUnavailable,
    VendError,
)
from vend.secret_values import ClientSecretValue, OpenAIApiKey

PATH = "/v1/realtime/client_secrets"
USER_AGENT = "realtime-vend/0.1 (+https://github.com/realtime-vend)"
MIN_ATTEMPT_SECONDS = 0.5  # not worth starting an attempt with less time than this left
MAX_RETRY_AFTER_SECONDS = 60
_QUOTA_CODES = {
    "insufficient_quota": UpstreamQuotaExhausted,
    "project_spend_limit_exceeded": UpstreamSpendLimitReached,
}


@dataclass(frozen=True, slots=True)
class MintedClientSecret:
    value: ClientSecretValue
    expires_at: int
    session: dict[str, Any]
    upstream_status: int
    upstream_latency_ms: float
    attempts: int

    def response_body(self) -> dict[str, Any]:
        """The three fields OpenAI returns, as OpenAI returns them (what its SDKs and samples expect)."""
        return {"value": self.value.reveal(), "expires_at": self.expires_at, "session": self.session}


class _Retryable(Exception):
    def __init__(self, error: VendError, delay_seconds: float) -> None:
        super().__init__(error.reason)
        self.error = error
        self.delay_seconds = delay_seconds


class ClientSecretsApi:
    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._sleep = sleep
        self._jitter = jitter
        self._clock = clock
        self._http = httpx.Client(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=2, keepalive_expiry=60),
            follow_redirects=False,  # a redirect would carry the key elsewhere
            trust_env=False,  # no proxy or netrc from the environment near the key
            headers={"User-Agent": USER_AGENT},
        )

    def create(self, api_key: OpenAIApiKey, body: dict[str, Any], *, deadline: float) -> MintedClientSecret:
        """Mint one client secret, or raise a VendError. `deadline` is a `clock()` instant."""
        attempts = 0
        started = self._clock()
        while True:
            attempts += 1
            try:
                return self._attempt(api_key, body, deadline, attempts, started)
            except _Retryable as retryable:
                remaining = deadline - self._clock()
                delay = retryable.delay_seconds
                if attempts >= 2 or remaining - delay < self._connect_timeout + MIN_ATTEMPT_SECONDS:
                    raise retryable.error from retryable.error.__cause__
                self._sleep(delay)

    def _attempt(
        self, api_key: OpenAIApiKey, body: dict[str, Any], deadline: float, attempts: int, started: float
    ) -> MintedClientSecret:
        remaining = deadline - self._clock()
        if remaining < MIN_ATTEMPT_SECONDS:
            raise UpstreamTimeout("no_time_left_for_upstream")
        timeout = httpx.Timeout(
            min(self._read_timeout, remaining),
            connect=min(self._connect_timeout, remaining),
        )
        try:
            response = self._http.post(
                PATH,
                json=body,
                headers={"Authorization": f"Bearer {api_key.reveal()}"},
                timeout=timeout,
            )
        except httpx.ConnectTimeout as exc:
            raise _Retryable(self._chain(UpstreamTimeout("connect_timeout"), exc), self._backoff()) from exc
        except httpx.TimeoutException as exc:
            # The request may have reached OpenAI: don't double the wait, report the timeout.
            raise UpstreamTimeout(f"{type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            error = UpstreamUnavailable(f"network_{type(exc).__name__}")
            raise _Retryable(self._chain(error, exc), self._backoff()) from exc
        latency_ms = (self._clock() - started) * 1000
        return self._interpret(response, attempts, latency_ms)

    def _interpret(self, response: httpx.Response, attempts: int, latency_ms: float) -> MintedClientSecret:
        status = response.status_code
        if status == 200:
            return _parse_minted(response, attempts, latency_ms)
        code = _error_code(response)
        if status == 401:
            raise UpstreamUnauthorized(f"openai_401_{code}", upstream_status=status)
        if status == 429:
            quota_error = _QUOTA_CODES.get(code)
            if quota_error is not None:
                raise quota_error(f"openai_429_{code}", upstream_status=status)
            retry_after = _retry_after_seconds(response)
            limited = UpstreamRateLimited(max(1, round(retry_after or 1)), upstream_status=status)
            raise _Retryable(limited, retry_after if retry_after is not None else self._backoff())
        if status >= 500 or status == 408:
            unavailable = UpstreamUnavailable(f"openai_{status}_{code}", upstream_status=status)
            raise _Retryable(unavailable, self._backoff())
        # 400/403/404/422…: OpenAI refuses the session *we* configured (model, voice, bounds). An operator
        # fixes that; the caller cannot.
        raise ServerMisconfigured(f"openai_rejected_config_{status}_{code}", upstream_status=status)

    def _backoff(self) -> float:
        return 0.1 + 0.3 * self._jitter()  # full jitter keeps a burst of cold starts from retrying in step

    @staticmethod
    def _chain(error: VendError, exc: Exception) -> VendError:
        error.__cause__ = exc
        return error

    def close(self) -> None:
        self._http.close()


def _parse_minted(response: httpx.Response, attempts: int, latency_ms: float) -> MintedClientSecret:
    try:
        document = response.json()
    except (ValueError, UnicodeDecodeError):
        raise UpstreamUnavailable("openai_200_not_json", upstream_status=200) from None
    if not isinstance(document, dict):
        raise UpstreamUnavailable("openai_200_not_object", upstream_status=200)
    value, expires_at, session = document.get("value"), document.get("expires_at"), document.get("session")
    if not isinstance(value, str) or not value.startswith("ek_") or len(value) < 8:
        raise UpstreamUnavailable("openai_200_without_client_secret", upstream_status=200)
    if not isinstance(expires_at, int) or isinstance(expires_at, bool) or expires_at <= time.time():
        raise UpstreamUnavailable("openai_200_bad_expires_at", upstream_status=200)
    if not isinstance(session, dict):
        raise UpstreamUnavailable("openai_200_without_session", upstream_status=200)
    return MintedClientSecret(
        value=ClientSecretValue(value),
        expires_at=expires_at,
        session=session,
        upstream_status=200,
        upstream_latency_ms=latency_ms,
        attempts=attempts,
    )


def _error_code(response: httpx.Response) -> str:
    """OpenAI's `error.code` (or `error.type`), sanitised for a log field. Never the message: a 401
    message quotes part of the key."""
    try:
        error = json.loads(response.content).get("error", {})
        code = error.get("code") or error.get("type") or "none"
    except (ValueError, AttributeError, UnicodeDecodeError):
        return "unparsed"
    if not isinstance(code, str):
        return "none"
    return "".join(c for c in code[:64] if c.isalnum() or c == "_") or "none"


def _retry_after_seconds(response: httpx.Response) -> float | None:
    header = response.headers.get("retry-after-ms")
    if header:
        try:
            return min(float(header) / 1000, MAX_RETRY_AFTER_SECONDS)
        except ValueError:
            pass
    header = response.headers.get("retry-after")
    if not header:
        return None
    try:
        return min(max(float(header), 0.0), MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (ValueError, TypeError):
        return None
    return min(max(when.timestamp() - time.time(), 0.0), MAX_RETRY_AFTER_SECONDS)
