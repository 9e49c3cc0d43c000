"""OpenAI's GA Realtime REST endpoints: client secrets, calls (SDP exchange), hangup."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from typing import Any

from aiohttp import BodyPartReader, web
from openai.types.realtime import ClientSecretCreateResponse

from .call import Call
from .errors import ApiError, beta_shape_disabled, injected_failure, invalid_api_key
from .registry import STANDIN, Standin
from .sdp import InvalidSdp
from .secrets_store import ClientSecret
from .session_config import (
    apply_session_request,
    default_session,
    validate_client_secret_request,
    validate_session_request,
)
from .strict import StrictValidationError

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)


def bearer_token(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, _NO_KEY)
    return token.strip()


def reject_beta_header(request: web.Request) -> None:
    if "realtime=v1" in request.headers.get("OpenAI-Beta", ""):
        raise beta_shape_disabled()


def _as_api_error(exc: StrictValidationError) -> ApiError:
    return ApiError(400, exc.message, param=exc.param, code=exc.code)


async def _delay(milliseconds: int) -> None:
    if milliseconds > 0:
        await asyncio.sleep(milliseconds / 1000)


@web.middleware
async def api_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Our ApiError -> OpenAI's error body, in one place."""
    try:
        response: web.StreamResponse = await handler(request)
    except ApiError as exc:
        return exc.response()
    return response


@routes.post("/v1/realtime/client_secrets")
async def create_client_secret(request: web.Request) -> web.Response:
    standin = request.app[STANDIN]
    await _delay(standin.options.client_secrets_delay_ms)
    if bearer_token(request) != standin.options.api_key:
        raise invalid_api_key()
    reject_beta_header(request)
    raw = await request.text()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. Please send valid JSON.",
            code="invalid_json",
        ) from None
    try:
        seconds, session_request = validate_client_secret_request(body)
    except StrictValidationError as exc:
        raise _as_api_error(exc) from None
    session = apply_session_request(default_session(), session_request)
    secret = standin.secrets.issue(seconds, session)
    payload = {"value": secret.value, "expires_at": secret.expires_at, "session": session}
    ClientSecretCreateResponse.model_validate(payload)  # we answer only what OpenAI could
    logger.info("client secret issued", extra={"ek_sha256": secret.sha256, "ttl": seconds})
    return web.json_response(payload)


def _authorize_call(standin: Standin, token: str) -> ClientSecret | None:
    """The client secret behind an `ek_` token (None for the API key itself), or 401."""
    if token == standin.options.api_key:
        return None
    secret = standin.secrets.lookup(token) if token.startswith("ek_") else None
    if secret is None:
        raise invalid_api_key()
    if not standin.secrets.is_live(secret):
        raise invalid_api_key("The client secret has expired. Request a new one.")
    return secret


# A client secret's session was chosen by whoever minted it. Whether OpenAI lets a multipart `session`
# sent with an `ek_` replace it is undocumented; the stand-in refuses, so nothing built on it relies
# on either answer.
_SESSION_PART_WITH_EK_MESSAGE = (
    "A 'session' cannot be sent with a client secret: the session was set when the client secret "
    "was created. Send only the SDP offer, or create the call with an API key to configure its session."
)


async def _read_multipart(
    request: web.Request, *, with_client_secret: bool
) -> tuple[str, dict[str, Any] | None]:
    """The unified interface: parts `sdp` and optional `session` (a realtime session config)."""
    sdp: str | None = None
    session: dict[str, Any] | None = None
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise ApiError(400, "Nested multipart bodies are not supported.", code="invalid_value")
        name = part.name
        text = await part.text()
        if name == "sdp":
            sdp = text
        elif name == "session" and with_client_secret:
            raise ApiError(400, _SESSION_PART_WITH_EK_MESSAGE, param="session", code="unsupported_parameter")
        elif name == "session":
            try:
                raw_session = json.loads(text)
            except ValueError:
                raise ApiError(
                    400, "Invalid JSON in the 'session' part.", param="session", code="invalid_json"
                ) from None
            try:
                session = validate_session_request(raw_session, "session")
            except StrictValidationError as exc:
                raise _as_api_error(exc) from None
        else:
            raise ApiError(400, f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
    if sdp is None:
        raise ApiError(
            400, "Missing required parameter: 'sdp'.", param="sdp", code="missing_required_parameter"
        )
    return sdp, session


@routes.post("/v1/realtime/calls")
async def create_call(request: web.Request) -> web.Response:
    standin = request.app[STANDIN]
    options = standin.options
    await _delay(options.calls_delay_ms)
    if options.calls_status is not None:
        raise injected_failure(options.calls_status)
    secret = _authorize_call(standin, bearer_token(request))
    reject_beta_header(request)
    session = (
        copy.deepcopy(secret.session)
        if secret is not None
        else apply_session_request(default_session(), {"type": "realtime"})
    )
    if request.content_type == "application/sdp":
        offer = await request.text()
    elif request.content_type == "multipart/form-data":
        offer, session_request = await _read_multipart(request, with_client_secret=secret is not None)
        if session_request is not None:
            session = apply_session_request(default_session(), session_request)
    else:
        raise ApiError(
            400,
            f"Unsupported content type: '{request.content_type}'. "
            "Send application/sdp or multipart/form-data.",
            code="unsupported_content_type",
        )
    call = Call(session, options, ek_sha256=secret.sha256 if secret is not None else None)
    # Kept for tests (a relay must send a fingerprint, never the visitor's address); OpenAI uses it
    # to attribute abuse to the end user.
    call.safety_identifier = request.headers.get("OpenAI-Safety-Identifier")
    try:
        answer = await call.answer(offer)
    except InvalidSdp as exc:
        raise ApiError(400, str(exc), param="sdp", code="invalid_offer") from None
    standin.add_call(call)
    call.answered_at = time.time()
    return web.Response(
        status=201,
        text=answer,
        content_type="application/sdp",
        headers={"Location": f"/v1/realtime/calls/{call.id}"},
    )


@routes.post("/v1/realtime/calls/{call_id}/hangup")
async def hangup(request: web.Request) -> web.Response:
    standin = request.app[STANDIN]
    if bearer_token(request) != standin.options.api_key:
        raise invalid_api_key()
    call = standin.calls.get(request.match_info["call_id"])
    # An ended call is gone, as an unknown one is: 404 (a relay treats it as "already ended").
    if call is None or call.state == "closed":
        raise ApiError(404, "Call not found.", param="call_id", code="not_found")
    # Closes the peer connection: an SCTP ABORT (the browser's data channel closes) and a DTLS
    # close_notify (its peer connection reads `closed`), through the relay before its sockets go.
    await call.end("hangup")
    return web.Response(status=200)
