"""The HTTP API: `POST /api/session` mints a short-lived OpenAI Realtime client secret.

    POST /api/session   {} | {"voice": "<allowed>"}   -> 200 {"value": "ek_…", "expires_at", "session"}
    POST /api/call      application/sdp offer          -> 201 SDP answer, Location, Call-Ends-At
                        (GPT-Live: also JSON {"sdp", "conversation"}, the conversation so far)
    GET /api/call/{id}                                 -> 200 {"status": "live"|"ended", "reason"}
    DELETE /api/call/{id}                              -> 204 (the page ends its own call)
    GET /api/warm                                      -> 204 (init has run: the page wakes us on intent)
    an endpoint CallMode switches off                  -> 404 not_enabled
    any other method                                   -> 405 (Allow)
    any other path under /api                          -> 404
    not through our CloudFront (any path)              -> 403 forbidden
    pause switch on (any path)                         -> 503 service_paused

Routes only: parse (edge) → one call (logic, via providers) → respond (edge). The long-lived clients
are built at init by `providers`; the middlewares run the checks that precede every route, the
404/405 answers included, in order: configured, through CloudFront, not paused; then each route's
own (`serving`): its CallMode serves it, and the request comes from our own page.
"""

from __future__ import annotations

# First: building the providers starts the init prefetch, whose network waits then overlap the
# imports below (the event handler alone is a tenth of init). Joined at the end of this module.
from vend import providers  # isort: skip

import time
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Depends, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from vend import observability
from vend.edge.call_json_request import parse_call_start
from vend.edge.call_request import parse_call_id, replaced_call
from vend.edge.identity import identify
from vend.edge.mint_request import parse_mint_request
from vend.edge.request_origin import require_cloudfront, require_own_page
from vend.edge.responses import empty_response, error_response, json_response, raw_response, sdp_response
from vend.edge.routes import has_control_characters, refusal_for
from vend.errors import Forbidden, NotEnabled, RouteNotFound, VendError
from vend.logic.call_status import CallStatusReader
from vend.logic.mint import ClientSecretVendor
from vend.logic.relay import CallRelay
from vend.observability import logger, metrics
from vend.settings import Endpoint, Settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.typing import LambdaContext

    Middleware = Callable[[APIGatewayHttpResolver, Callable[..., Response[str]]], Response[str]]

SAFETY_MARGIN_SECONDS = 0.5  # leave time to answer before Lambda's own timeout cuts us off

# debug pinned off: POWERTOOLS_DEV=true would otherwise return tracebacks in 500 bodies.
app = APIGatewayHttpResolver(debug=False)


def deadline() -> float:
    """The monotonic instant by which upstream work must be done, from the invocation's remaining time."""
    context = app.lambda_context
    remaining_ms = context.get_remaining_time_in_millis() if context is not None else 10_000
    return time.monotonic() + remaining_ms / 1000 - SAFETY_MARGIN_SECONDS


def serving(endpoint: Endpoint) -> Middleware:
    """The checks each route makes before its own work: this stack's CallMode serves `endpoint`
    (404 not_enabled otherwise), and the request comes from our own page (403 otherwise)."""

    def check(app: APIGatewayHttpResolver, next_middleware: Callable[..., Response[str]]) -> Response[str]:
        if not providers.settings().serves(endpoint):
            raise NotEnabled(endpoint)
        require_own_page(app.current_event.headers)
        return next_middleware(app)

    return check


@app.post("/api/session", middlewares=[serving("client_secrets")])
def create_session(
    settings: Annotated[Settings, Depends(providers.settings)],
    vendor: Annotated[ClientSecretVendor, Depends(providers.client_secret_vendor)],
    until: Annotated[float, Depends(deadline)],
) -> Response[str]:
    event = app.current_event
    request = parse_mint_request(
        body=event.body,
        is_base64=bool(event.is_base64_encoded),
        content_type=event.headers.get("content-type"),
        allowed_voices=settings.voices,
    )
    minted = vendor.mint(request.voice, visitor=current_visitor(), deadline=until)
    observability.record_minted(minted.upstream_latency_ms)
    return json_response(200, minted.response_body())


@app.post("/api/call", middlewares=[serving("calls")])
def start_call(
    settings: Annotated[Settings, Depends(providers.settings)],
    relay: Annotated[CallRelay, Depends(providers.call_relay)],
    until: Annotated[float, Depends(deadline)],
) -> Response[str]:
    event = app.current_event
    request = parse_call_start(
        body=event.body,
        is_base64=bool(event.is_base64_encoded),
        content_type=event.headers.get("content-type"),
        accepts_json=settings.voice_api == "live",
    )
    started = relay.start(
        request.offer_sdp,
        visitor=current_visitor(),
        deadline=until,
        replaces=replaced_call(event.headers),
        conversation=request.conversation,
    )
    observability.record_call_started()
    return sdp_response(started.answer_sdp, location=f"/api/call/{started.call_id}", ends_at=started.ends_at)


@app.get("/api/call/<call_id>", middlewares=[serving("calls")])
def call_status(
    call_id: str, reader: Annotated[CallStatusReader, Depends(providers.call_status)]
) -> Response[str]:
    visitor = current_visitor()  # first: a caller who is not signed in learns nothing about ids
    status = reader.status(parse_call_id(call_id), visitor=visitor)
    observability.annotate(outcome=f"call_{status.status}", call_end_reason=status.reason)
    return json_response(200, status.response_body())


@app.delete("/api/call/<call_id>", middlewares=[serving("calls")])
def end_call(
    call_id: str,
    relay: Annotated[CallRelay, Depends(providers.call_relay)],
    until: Annotated[float, Depends(deadline)],
) -> Response[str]:
    visitor = current_visitor()  # first: a caller who is not signed in learns nothing about ids
    relay.end(parse_call_id(call_id), visitor=visitor, deadline=until)
    observability.record_call_ended()
    return empty_response(204)


@app.get("/api/warm")
def warm() -> Response[str]:
    """Nothing to do: the request's work was this environment's init. No visitor, secret or counter."""
    observability.annotate(outcome="warm")
    return empty_response(204)


def current_visitor() -> str:
    """The caller's fingerprint (the only form of its identity that leaves the process), logged.

    Called by each route after it has parsed its body, so that a malformed body is told so first.
    """
    event = app.current_event
    issuer = providers.settings().auth_issuer
    identity = identify(event.headers, event.raw_event.get("requestContext") or {}, issuer=issuer)
    visitor = providers.visitors().of(identity)
    observability.annotate(visitor=visitor)
    return visitor


def unrouted(_: NotFoundError) -> Response[str]:
    raise refusal_for(app.current_event.path, app.current_event.http_method)


def configured(app: APIGatewayHttpResolver, next_middleware: Callable[..., Response[str]]) -> Response[str]:
    """Before every route, 404 and 405 included: a misconfigured function says so, and nothing else."""
    providers.current()
    if has_control_characters(app.current_event.path):
        raise RouteNotFound("path_control_characters")
    return next_middleware(app)


def through_cloudfront(
    app: APIGatewayHttpResolver, next_middleware: Callable[..., Response[str]]
) -> Response[str]:
    """403 for anything that did not come through our distribution (the execute-api URL, say)."""
    source = providers.origin_verify()
    headers = app.current_event.headers
    try:
        require_cloudfront(headers, source.accepted())
    except Forbidden:
        fresh = source.refreshed()  # a rotation this environment has not seen yet? (rate-limited)
        if fresh is None:
            raise
        require_cloudfront(headers, fresh)
    return next_middleware(app)


def not_paused(app: APIGatewayHttpResolver, next_middleware: Callable[..., Response[str]]) -> Response[str]:
    providers.pause_switch().require_serving()
    return next_middleware(app)


def vend_error(error: VendError) -> Response[str]:
    upstream = error.upstream_status is not None
    observability.annotate(outcome=error.code, reason=error.reason, upstream_status=error.upstream_status)
    observability.record_failure(error.code, upstream=upstream)
    return error_response(error)


def unexpected_error(error: Exception) -> Response[str]:
    # The detail goes to the log, redacted (an exception message could quote a secret); the caller
    # gets a fixed sentence.
    logger.error(
        "unexpected error",
        extra={"error_type": type(error).__name__, "traceback": observability.redacted_traceback(error)},
    )
    return vend_error(VendError(f"unexpected_{type(error).__name__}"))


# Registered without decorator syntax: Powertools' decorators are untyped and would erase these types.
app.use(middlewares=[configured, through_cloudfront, not_paused])
app.not_found(unrouted)
app.exception_handler(VendError)(vend_error)
app.exception_handler(Exception)(unexpected_error)


@observability.traced(providers.tracing_enabled())
@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics(raise_on_empty_metrics=False)
@observability.logged_request
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    observability.record_request()
    try:
        response: dict[str, Any] = app.resolve(event, context)
    except Exception as error:
        # Routing itself failed: not an HTTP API payload 2.0 event (format 1.0, a direct Invoke). The
        # exception handlers above only cover routes, so answer here, still in our JSON.
        logger.error("unroutable event", extra={"error_type": type(error).__name__})
        return raw_response(vend_error(VendError("unroutable_event")))
    return response


providers.PREFETCH.wait()  # init ends when the key and the connection are ready, or the budget is spent
