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
