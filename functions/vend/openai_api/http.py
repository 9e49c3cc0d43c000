"""The one HTTP client that talks to OpenAI: timeouts, deadlines, one retry, and OpenAI's errors as ours.

One `httpx.Client` lives for the whole execution environment so warm requests reuse the TLS
connection, and `preconnect()` lets init open that connection before the first visitor arrives.
Every attempt is bounded by explicit timeouts and by the invocation's remaining time; at most one
retry, with jitter, on connect errors, 429 rate limits and 5xx. A 401 is not retried here: the
caller re-reads the key first (rotation). Endpoint modules (`client_secrets.py`, …) parse bodies.
A request that must never be repeated once OpenAI may have received it (a GPT-Live create bills at
least 15 s each) passes `retry_after_send=False`: then only a failure to connect is retried.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from vend.errors import (
    InvalidOffer,
    ServerMisconfigured,
    UpstreamQuotaExhausted,
    UpstreamRateLimited,
    UpstreamSpendLimitReached,
    UpstreamTimeout,
    UpstreamUnauthorized,
    UpstreamUnavailable,
    VendError,
)
from vend.secret_values import OpenAIApiKey

USER_AGENT = "realtime-vend/0.1 (+https://github.com/realtime-vend)"
MIN_ATTEMPT_SECONDS = 0.5  # not worth starting an attempt with less time than this left
MAX_RETRY_AFTER_SECONDS = 60
# Where OpenAI points at the browser's offer: Realtime's multipart `sdp`, GPT-Live's JSON `transport.sdp`.
_OFFER_PARAMS = frozenset({"sdp", "transport.sdp"})
_QUOTA_CODES = {
    "insufficient_quota": UpstreamQuotaExhausted,
    "project_spend_limit_exceeded": UpstreamSpendLimitReached,
}


@dataclass(frozen=True, slots=True)
class UpstreamReply:
    """A 2xx answer from OpenAI, with what the log line reports about how we got it."""

    response: httpx.Response
    latency_ms: float
    attempts: int


class _Retryable(Exception):
    def __init__(self, error: VendError, delay_seconds: float, *, sent: bool = True) -> None:
        super().__init__(error.reason)
        self.error = error
        self.delay_seconds = delay_seconds
        # False only when the request cannot have left this process (no connection was made).
        self.sent = sent


class OpenAIHttp:
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

    def post(
        self,
        path: str,
        api_key: OpenAIApiKey,
        *,
        deadline: float,
        json_body: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str | None, bytes, str]] | None = None,
        safety_identifier: str | None = None,
        also_fine: frozenset[int] = frozenset(),
        retry_after_send: bool = True,
    ) -> UpstreamReply:
        """POST with the key, or raise a VendError. `deadline` is a `clock()` instant.

        The body is JSON, or multipart `files` (httpx's form: name → (filename, bytes, content type)).
        Statuses in `also_fine` come back as replies instead of errors (a hangup's 404: already over).
        `retry_after_send=False`: no retry once the request may have reached OpenAI (a 5xx, a 429, a
        connection lost after connecting), only after a connect error or connect timeout.

        `safety_identifier` (a keyed hash of the visitor) lets OpenAI attribute abuse to one visitor
        rather than to the whole organisation; it is bound to the client secret minted with it.
        """
        headers = {"Authorization": f"Bearer {api_key.reveal()}"}
        if safety_identifier:
            headers["OpenAI-Safety-Identifier"] = safety_identifier
        attempts = 0
        started = self._clock()
        while True:
            attempts += 1
            try:
                response = self._attempt(path, headers, _Body(json_body, files), deadline, also_fine)
                return UpstreamReply(response, (self._clock() - started) * 1000, attempts)
            except _Retryable as retryable:
                remaining = deadline - self._clock()
                delay = retryable.delay_seconds
                if (
                    attempts >= 2
                    or (retryable.sent and not retry_after_send)
                    or remaining - delay < self._connect_timeout + MIN_ATTEMPT_SECONDS
                ):
                    raise retryable.error from retryable.error.__cause__
                self._sleep(delay)

    def preconnect(self, path: str, *, timeout: float) -> bool:
        """Open the TLS connection now so the first real request finds it in the pool.

        httpx has no public "connect" call, so this sends a HEAD without credentials: OpenAI answers it
        with an error status at no cost, and the keep-alive connection stays open. Never raises.
        """
        try:
            response = self._http.head(path, timeout=httpx.Timeout(timeout))
            response.close()
        except Exception:
            return False
        return True

    def _attempt(
        self,
        path: str,
        headers: Mapping[str, str],
        body: _Body,
        deadline: float,
        also_fine: frozenset[int],
    ) -> httpx.Response:
        remaining = deadline - self._clock()
        if remaining < MIN_ATTEMPT_SECONDS:
            raise UpstreamTimeout("no_time_left_for_upstream")
        timeout = httpx.Timeout(
            min(self._read_timeout, remaining),
            connect=min(self._connect_timeout, remaining),
        )
        try:
            response = self._http.post(
                path,
                json=body.json,
                files=body.files,
                headers=headers,
                timeout=timeout,
            )
        except httpx.ConnectTimeout as exc:
            error = self._chain(UpstreamTimeout("connect_timeout"), exc)
            raise _Retryable(error, self._backoff(), sent=False) from exc
        except httpx.ConnectError as exc:  # refused, DNS, TLS handshake: nothing was sent
            error = self._chain(UpstreamUnavailable(f"network_{type(exc).__name__}"), exc)
            raise _Retryable(error, self._backoff(), sent=False) from exc
        except httpx.TimeoutException as exc:
            # The request may have reached OpenAI: don't double the wait, report the timeout.
            raise UpstreamTimeout(f"{type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            unavailable = UpstreamUnavailable(f"network_{type(exc).__name__}")
            raise _Retryable(self._chain(unavailable, exc), self._backoff()) from exc
        if response.status_code not in also_fine:
            self._raise_for_status(response)
        return response

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
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
        if status == 400 and _error_param(response) in _OFFER_PARAMS:
            # The browser's offer, not our configuration: the caller can fix it.
            raise InvalidOffer(f"openai_400_{code}", upstream_status=status)
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


@dataclass(frozen=True, slots=True)
class _Body:
    json: Mapping[str, Any] | None
    files: Mapping[str, tuple[str | None, bytes, str]] | None


def _error_param(response: httpx.Response) -> str | None:
    try:
        param = json.loads(response.content).get("error", {}).get("param")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    return param if isinstance(param, str) else None


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
