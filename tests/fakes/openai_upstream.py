"""A strict fake of OpenAI's `POST /v1/realtime/client_secrets`, at the HTTP level (respx).

It checks what OpenAI checks — the bearer key and the body's shape, against the official SDK's
`ClientSecretCreateParams` *and* for keys that type does not define — and answers with the documented
response. Tests script failures by queueing responses or exceptions.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx
from openai.types.realtime import ClientSecretCreateParams
from pydantic import TypeAdapter

from local.openai_standin.session_config import (
    apply_session_request,
    default_session,
    validate_client_secret_request,
    validate_session_request,
)
from local.openai_standin.strict import StrictValidationError

BASE_URL = "https://api.openai.com"
_PARAMS = TypeAdapter(ClientSecretCreateParams)


def openai_error(
    status: int,
    code: str | None,
    message: str,
    type_: str = "invalid_request_error",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return httpx.Response(status, json=body, headers=headers)


def unknown_keys(validated: Any, original: Any, path: str = "") -> list[str]:
    """Keys present in `original` that the SDK's TypedDict validation silently dropped."""
    if isinstance(original, dict) and isinstance(validated, dict):
        missing = [f"{path}{k}" for k in original if k not in validated]
        for k in original:
            if k in validated:
                missing += unknown_keys(validated[k], original[k], f"{path}{k}.")
        return missing
    if isinstance(original, list) and isinstance(validated, list):
        return [m for v, o in zip(validated, original, strict=False) for m in unknown_keys(v, o, path)]
    return []


@dataclass
class FakeClientSecrets:
    valid_keys: set[str]
    requests: list[dict[str, Any]] = field(default_factory=list)
    seen_keys: list[str] = field(default_factory=list)
    scripted: deque[httpx.Response | Exception] = field(default_factory=deque)
    minted: list[str] = field(default_factory=list)
    safety_identifiers: list[str | None] = field(default_factory=list)

    def then(self, *outcomes: httpx.Response | Exception) -> FakeClientSecrets:
        self.scripted.extend(outcomes)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        key = auth.removeprefix("Bearer ")
        self.seen_keys.append(key)
        self.safety_identifiers.append(request.headers.get("openai-safety-identifier"))
        body = json.loads(request.content)
        self.requests.append(body)
        if self.scripted:
            outcome = self.scripted.popleft()
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        if key not in self.valid_keys:
            return openai_error(401, "invalid_api_key", "Incorrect API key provided: sk-…xxxx.")
        validated = _PARAMS.validate_python(body)  # the SDK type first, then what it silently drops
        extra = unknown_keys(validated, body)
        if extra:
            return openai_error(400, "unknown_parameter", f"Unknown parameter: '{extra[0]}'.")
        try:
            return httpx.Response(200, json=self.response_for(body))
        except StrictValidationError as exc:  # bounds and enums the SDK type does not check
            return openai_error(400, exc.code, exc.message)

    def response_for(self, body: dict[str, Any]) -> dict[str, Any]:
        # The effective session exactly as the local stand-in (and OpenAI) reports it back.
        seconds, session_request = validate_client_secret_request(body)
        value = "ek_" + secrets.token_hex(16)
        self.minted.append(value)
        session = apply_session_request(default_session(), session_request)
        return {"value": value, "expires_at": int(time.time()) + seconds, "session": session}


def mount(router: respx.MockRouter, fake: FakeClientSecrets) -> respx.Route:
    return router.post("/v1/realtime/client_secrets", name="client_secrets").mock(side_effect=fake)


ANSWER_SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


@dataclass
class FakeCalls:
    """OpenAI's unified interface: `POST /v1/realtime/calls` (multipart sdp + session) and hangup.

    Strict like the stand-in: the session part must be a valid realtime session object.
    """

    valid_keys: set[str]
    offers: list[str] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    safety_identifiers: list[str | None] = field(default_factory=list)
    live: set[str] = field(default_factory=set)
    hangups: list[str] = field(default_factory=list)
    scripted: deque[httpx.Response | Exception] = field(default_factory=deque)

    def then(self, *outcomes: httpx.Response | Exception) -> FakeCalls:
        self.scripted.extend(outcomes)
        return self

    def create(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.valid_keys:
            return openai_error(401, "invalid_api_key", "Incorrect API key provided: sk-…xxxx.")
        if self.scripted:
            outcome = self.scripted.popleft()
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        parts = _multipart(request)
        if set(parts) - {"sdp", "session"} or "sdp" not in parts:
            return openai_error(400, "unknown_parameter", "Unknown parameter.")
        self.safety_identifiers.append(request.headers.get("openai-safety-identifier"))
        self.offers.append(parts["sdp"])
        try:
            session = json.loads(parts["session"])
            validate_session_request(session, "session")
        except (ValueError, StrictValidationError) as exc:
            return openai_error(400, "invalid_value", str(exc))
        self.sessions.append(session)
        if not parts["sdp"].startswith("v=0"):
            return httpx.Response(
                400, json={"error": {"message": "Invalid SDP.", "param": "sdp", "code": "invalid_offer"}}
            )
        call_id = "rtc_" + secrets.token_hex(16)
        self.live.add(call_id)
        return httpx.Response(
            201,
            text=ANSWER_SDP,
            headers={"Content-Type": "application/sdp", "Location": f"/v1/realtime/calls/{call_id}"},
        )

    def hangup(self, request: httpx.Request, call_id: str) -> httpx.Response:
        self.hangups.append(call_id)
        if call_id not in self.live:
            return openai_error(404, "not_found", "Call not found.")
        self.live.discard(call_id)
        return httpx.Response(200, json={})


def _multipart(request: httpx.Request) -> dict[str, str]:
    from email.parser import BytesParser
    from email.policy import HTTP

    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.content)
    parts: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = payload.decode()
    return parts


def mount_calls(router: respx.MockRouter, fake: FakeCalls) -> None:
    router.post("/v1/realtime/calls", name="calls").mock(side_effect=fake.create)
    router.post(path__regex=r"^/v1/realtime/calls/(?P<call_id>rtc_\w+)/hangup$", name="hangup").mock(
        side_effect=fake.hangup
    )
