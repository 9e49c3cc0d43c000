"""Logger, metrics, optional tracing, and the one structured line per request — nothing else.

What never reaches a log line: the API key, a client secret, an Authorization header, the raw event.
Library loggers that would print them at DEBUG (botocore logs the GetSecretValue response) are pinned
to WARNING, and a redacting filter guards our own handlers as a second line.
"""

from __future__ import annotations

import functools
import logging
import re
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = "realtime-vend"
METRICS_NAMESPACE = "RealtimeVend"
_NOISY_LIBRARY_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "httpx", "httpcore", "aws_xray_sdk")
MAX_LOGGED_PATH = 128
_SECRET_PATTERN = re.compile(r"(sk-[A-Za-z0-9_\-]{6,}|ek_[A-Za-z0-9_\-]{6,}|(?i:bearer)\s+\S+)")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)

_Handler = TypeVar("_Handler", bound=Callable[..., Any])


class RedactSecrets(logging.Filter):
    """Masks anything shaped like an OpenAI key, a client secret or a bearer token in every string of a
    record (message, arguments and structured fields, nested too), and makes each string encodable, so
    that a lone surrogate in a request path cannot make the handler drop the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg, record.args = clean(message), None
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD_RECORD_FIELDS:
                record.__dict__[name] = _clean_value(value)
        return True


_STANDARD_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def clean(text: str) -> str:
    """Redacted, and safe to encode as UTF-8 (lone surrogates become visible escapes)."""
    return redact(text.encode("utf-8", "backslashreplace").decode("utf-8"))


def _clean_value(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {_clean_value(k): _clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clean_value(v) for v in value)
    return value


def redact(text: str) -> str:
    return _SECRET_PATTERN.sub("[redacted]", text)


def redacted_traceback(error: BaseException) -> str:
    return redact("".join(traceback.format_exception(error)))


def harden_logging() -> None:
    for name in _NOISY_LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    redactor = RedactSecrets()
    for handler in [*logging.getLogger().handlers, *logger.handlers]:
        handler.addFilter(redactor)


harden_logging()

# --- the per-request record ------------------------------------------------------------------------

_request_record: ContextVar[dict[str, Any] | None] = ContextVar("request_record", default=None)


def annotate(**fields: Any) -> None:
    """Add fields to this request's log line (e.g. upstream status and latency)."""
    record = _request_record.get()
    if record is not None:
        record.update(fields)


def logged_task(name: str) -> Callable[[_Handler], _Handler]:
    """One structured line per invocation of a function that is not behind the API (the scheduled
    hangup, the kill switch): what it did, with the fields `annotate` added, never the account id."""

    def decorate(handler: _Handler) -> _Handler:
        @functools.wraps(handler)
        def wrapper(event: dict[str, Any], context: Any) -> Any:
            logger.remove_keys(["function_arn"])
            record: dict[str, Any] = {}
            token = _request_record.set(record)
            started = time.perf_counter()
            outcome = "failed"
            try:
                result = handler(event, context)
                outcome = "done"
                return result
            finally:
                _request_record.reset(token)
                duration = round((time.perf_counter() - started) * 1000, 2)
                logger.info(name, extra={"outcome": outcome, "duration_ms": duration, **record})

        return wrapper  # type: ignore[return-value]

    return decorate


def logged_request(handler: _Handler) -> _Handler:
    """Emit exactly one structured line per invocation: route, status, outcome, upstream figures."""

    @functools.wraps(handler)
    def wrapper(event: dict[str, Any], context: Any) -> Any:
        # Powertools adds the function's ARN, i.e. the account id, to every line: not ours to publish.
        logger.remove_keys(["function_arn"])
        record: dict[str, Any] = {"outcome": "internal_error"}
        token = _request_record.set(record)
        started = time.perf_counter()
        status: int | None = None
        try:
            response = handler(event, context)
            status = response.get("statusCode") if isinstance(response, dict) else None
            return response
        finally:
            _request_record.reset(token)
            request_context = (event.get("requestContext") or {}) if isinstance(event, dict) else {}
            http = request_context.get("http") or {}
            logger.info(
                "request",
                extra={
                    "api_request_id": request_context.get("requestId"),  # matches API Gateway's access log
                    "method": http.get("method"),
                    "path": _loggable_path(http.get("path")),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    **record,
                },
            )

    return cast(_Handler, wrapper)


def _loggable_path(path: object) -> str | None:
    """A viewer chooses the path: keep enough to debug, not a payload (the filter redacts the rest)."""
    if not isinstance(path, str):
        return None
    return path if len(path) <= MAX_LOGGED_PATH else f"{path[:MAX_LOGGED_PATH]}…"


# --- metrics -------------------------------------------------------------------------------------


# Each route's success: its outcome on the request's log line, and its metrics.
def record_minted(upstream_latency_ms: float) -> None:
    annotate(outcome="minted")
    metrics.add_metric(name="ClientSecretsMinted", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="UpstreamLatency", unit=MetricUnit.Milliseconds, value=upstream_latency_ms)


# Refusals an alarm watches, each as a metric of its own (the contract's names; template.yaml alarms).
_REFUSAL_METRICS = {
    "quota_exceeded": "QuotaRejected",
    "daily_cap_reached": "DailyCapReached",
    "quota_unavailable": "QuotaUnavailable",
    "service_paused": "ServicePaused",
    "forbidden": "OriginRefused",
    "cross_site_request": "CrossSiteRefused",
    "concurrent_calls": "CallsRefused_concurrent_calls",
}


def record_failure(code: str, *, upstream: bool) -> None:
    refusal = _REFUSAL_METRICS.get(code)
    if refusal is not None:
        # Refused before anything was spent: not a failure of the service.
        metrics.add_metric(name=refusal, unit=MetricUnit.Count, value=1)
        return
    metrics.add_metric(name="MintFailures", unit=MetricUnit.Count, value=1)
    if upstream:
        # one metric per upstream error code, so an alarm can watch quota or rate limiting alone
        metrics.add_metric(name=f"UpstreamError_{code}", unit=MetricUnit.Count, value=1)


def record_call_started() -> None:
    annotate(outcome="call_started")
    metrics.add_metric(name="CallsStarted", unit=MetricUnit.Count, value=1)


def record_call_ended() -> None:
    annotate(outcome="call_ended")
    metrics.add_metric(name="CallsEnded", unit=MetricUnit.Count, value=1)


def record_hangup(*, failed: bool) -> None:
    metrics.add_metric(
        name="HangupFailures" if failed else "ScheduledHangups", unit=MetricUnit.Count, value=1
    )


def record_companion_run() -> None:
    """One per companion invocation (the hand-overs show as more runs than calls started)."""
    metrics.add_metric(name="CompanionRuns", unit=MetricUnit.Count, value=1)


def record_companion_failure() -> None:
    """A companion that could not start, hand over, or serve its call (the alarm's metric)."""
    metrics.add_metric(name="CompanionFailures", unit=MetricUnit.Count, value=1)


def record_spend(model: str, micro_usd: int) -> None:
    """Metered spend, per model: its own EMF line, because the Model dimension must not reach the
    invocation's other metrics."""
    with single_metric(
        name="SpendMicroUSD",
        unit=MetricUnit.Count,
        value=micro_usd,
        namespace=METRICS_NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension(name="Model", value=model)


def record_request() -> None:
    # Always one metric per invocation: Powertools warns when an invocation flushes none.
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)


# --- tracing (opt-in: importing the X-Ray SDK costs ~300 ms of cold start) -----------------------

_recorder: Any = None  # the X-Ray recorder once tracing is on


def traced(enabled: bool) -> Callable[[_Handler], _Handler]:
    def decorate(handler: _Handler) -> _Handler:
        global _recorder  # noqa: PLW0603 - one tracer per execution environment
        _recorder = None
        if not enabled:
            return handler
        from aws_lambda_powertools import Tracer  # noqa: PLC0415

        # Only botocore is auto-patched. The X-Ray httpx patch would copy any exception message from
        # the upstream call into the trace; upstream_span() below records the call without messages.
        tracer = Tracer(service=SERVICE, patch_modules=["botocore"])
        _recorder = tracer.provider
        # Pinned off in code: by default Tracer stores the handler's response (the ek_) and error text
        # in X-Ray metadata, and POWERTOOLS_TRACER_CAPTURE_* could switch them back on.
        return cast(
            _Handler, tracer.capture_lambda_handler(handler, capture_response=False, capture_error=False)
        )

    return decorate


@contextmanager
def upstream_span(name: str) -> Iterator[None]:
    """An X-Ray subsegment around a call to OpenAI that records timing and the error *type* only."""
    if _recorder is None:
        yield
        return
    subsegment = _recorder.begin_subsegment(name, namespace="remote")
    try:
        yield
    except Exception as exc:
        subsegment.put_annotation("error_type", type(exc).__name__)
        subsegment.add_fault_flag()
        raise
    finally:
        _recorder.end_subsegment()
