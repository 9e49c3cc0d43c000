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

    def then(self, *outcomes: httpx.Response | Exception) -> FakeClientSecrets:
        self.scripted.extend(outcomes)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        key = auth.removeprefix("Bearer ")
        self.seen_keys.append(key)
        body = json.loads(request.content)
        self.requests.append(body)
        if self.scripted:
            outcome = self.scripted.popleft()
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        if key not in self.valid_keys:
            return openai_error(401, "invalid_api_key", "Incorrect API key provided: sk-…xxxx.")
        validated = _PARAMS.validate_python(body)
        extra = unknown_keys(validated, body)
        if extra:
            return openai_error(400, "unknown_parameter", f"Unknown parameter: '{extra[0]}'.")
        return httpx.Response(200, json=self.response_for(body))

    def response_for(self, body: dict[str, Any]) -> dict[str, Any]:
        value = "ek_" + secrets.token_hex(16)
        self.minted.append(value)
        seconds = body.get("expires_after", {}).get("seconds", 600)
        session = body.get("session", {})
        audio = session.get("audio", {})
        return {
            "value": value,
            "expires_at": int(time.time()) + seconds,
            "session": {
                "type": "realtime",
                "object": "realtime.session",
                "id": "sess_" + secrets.token_hex(8),
                "model": session.get("model", "gpt-realtime"),
                "output_modalities": session.get("output_modalities", ["audio"]),
                "instructions": session.get("instructions", ""),
                "tools": [],
                "tool_choice": "auto",
                "max_output_tokens": session.get("max_output_tokens", "inf"),
                "tracing": None,
                "truncation": "auto",
                "prompt": None,
                "expires_at": 0,
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "transcription": audio.get("input", {}).get("transcription"),
                        "noise_reduction": None,
                        "turn_detection": audio.get("input", {}).get("turn_detection"),
                    },
                    "output": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "voice": audio.get("output", {}).get("voice", "alloy"),
                        "speed": 1.0,
                    },
                },
                "include": None,
            },
        }


def mount(router: respx.MockRouter, fake: FakeClientSecrets) -> respx.Route:
    return router.post("/v1/realtime/client_secrets", name="client_secrets").mock(side_effect=fake)
