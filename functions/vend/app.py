"""The HTTP API: `POST /api/session` mints a short-lived OpenAI Realtime client secret.

    POST /api/session   {} | {"voice": "<allowed>"}   -> 200 {"value": "ek_…", "expires_at", "session"}
    any other method                                   -> 405 (Allow: POST)
    any other path under /api                          -> 404

Importing this module reads and checks the environment but makes no network call and cannot fail:
problems are reported by the first request, as 500 server_misconfigured, and named in the log.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from vend import observability
from vend.errors import MethodNotAllowed, RouteNotFound, ServerMisconfigured, VendError
from vend.observability import logger, metrics
from vend.request_policy import parse_mint_request
from vend.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vend.vendor import ClientSecretVendor

SAFETY_MARGIN_SECONDS = 0.5  # leave time to answer before Lambda's own timeout cuts us off
OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_JSON_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _load_settings() -> Settings | SettingsError:
    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        logger.error("invalid configuration", extra={"variable": exc.variable, "problem": exc.problem})
        return exc
    if settings.model_is_deprecated:
        logger.warning("model shuts down on 2027-01-20; set REALTIME_MODEL", extra={"model": settings.model})
    return settings


SETTINGS = _load_settings()
# debug pinned off: POWERTOOLS_DEV=true would otherwise return tracebacks in 500 bodies.
app = APIGatewayHttpResolver(debug=False)
_vendor: ClientSecretVendor | None = None
_vendor_lock = threading.Lock()


@app.post("/api/session")
def create_session() -> Response[str]:
    settings = _settings()
    event = app.current_event
    request = parse_mint_request(
        body=event.body,
        is_base64=bool(event.is_base64_encoded),
        content_type=event.headers.get("content-type"),
        allowed_voices=settings.voices,
    )
    minted = _client_secret_vendor(settings).mint(request.voice, deadline=_deadline(app.lambda_context))
    observability.annotate(outcome="minted")
    observability.record_minted(minted.upstream_latency_ms)
    return _json(200, minted.response_body())


@app.route("/api/session", method=OTHER_METHODS)
def session_wrong_method() -> Response[str]:
    _settings()
    raise MethodNotAllowed()


@app.not_found
def not_found(_: NotFoundError) -> Response[str]:
    _settings()
    raise RouteNotFound()


def vend_error(error: VendError) -> Response[str]:
    upstream = error.upstream_status is not None
    observability.annotate(outcome=error.code, reason=error.reason, upstream_status=error.upstream_status)
    observability.record_failure(error.code, upstream=upstream)
    body = {"error": {"code": error.code, "message": error.public_message}}
    return _json(error.status, body, error.headers())


def unexpected_error(error: Exception) -> Response[str]:
    # The detail goes to the log, redacted (an exception message could quote a secret); the caller
    # gets a fixed sentence.
    logger.error(
        "unexpected error",
        extra={"error_type": type(error).__name__, "traceback": observability.redacted_traceback(error)},
    )
    return vend_error(VendError(f"unexpected_{type(error).__name__}"))


# Registered without decorator syntax: Powertools' decorator is untyped and would erase these types.
app.exception_handler(VendError)(vend_error)
app.exception_handler(Exception)(unexpected_error)


@observability.traced(isinstance(SETTINGS, Settings) and SETTINGS.tracing_enabled)
@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics(raise_on_empty_metrics=False)
@observability.logged_request
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    observability.record_request()
    response: dict[str, Any] = app.resolve(event, context)
    return response


# --- wiring --------------------------------------------------------------------------------------


def _settings() -> Settings:
    if isinstance(SETTINGS, SettingsError):
        raise ServerMisconfigured(f"invalid_setting_{SETTINGS.variable}")
    return SETTINGS


def _client_secret_vendor(settings: Settings) -> ClientSecretVendor:
    """Built on the first mint, then reused: the key cache and the keep-alive connection live here."""
    global _vendor  # noqa: PLW0603 - one per execution environment, by design
    with _vendor_lock:  # concurrent first requests must share one key cache
        if _vendor is None:
            _vendor = _build_vendor(settings)
        return _vendor


def _build_vendor(settings: Settings) -> ClientSecretVendor:
    from vend.openai_api_key import OpenAIApiKeySource  # noqa: PLC0415 - pulls boto3 on first use
    from vend.openai_client_secrets import ClientSecretsApi  # noqa: PLC0415
    from vend.vendor import ClientSecretVendor  # noqa: PLC0415

    return ClientSecretVendor(
        settings,
        OpenAIApiKeySource(settings.openai_api_key_secret_id, settings.secret_max_age_seconds),
        ClientSecretsApi(
            settings.openai_base_url,
            connect_timeout=settings.upstream_connect_timeout_seconds,
            read_timeout=settings.upstream_read_timeout_seconds,
        ),
    )


def _deadline(context: LambdaContext | None) -> float:
    remaining_ms = context.get_remaining_time_in_millis() if context is not None else 10_000
    return time.monotonic() + remaining_ms / 1000 - SAFETY_MARGIN_SECONDS


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":")),
        headers={**_JSON_HEADERS, **(headers or {})},
    )
