"""A strict fake of GPT-Live's `POST /v1/live/sessions` and `…/hangup` (respx), and of the companion's
`close_live_session` (attach + `session.close`), for the vend function's functional tests.

The create is checked as GPT-Live checks it: the bearer key, the body by the local stand-in's
`validate_create` (openai-python's `LiveCreateParams` and the limits the SDK leaves to the server), and
no key that type would silently drop (GPT-Live rejects unknown fields). The
hangup answers as the stand-in's default (`--live-webrtc-hangup ignored`): 200, and nothing happens,
so a test passes only if the session was ended by `session.close`.
"""

from __future__ import annotations

import json
import secrets
import time
import types
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx
from openai.types.live import LiveCreateParams, LiveCreateResponse
from pydantic import TypeAdapter, ValidationError

from local.openai_standin.live.create_request import validate_create
from local.openai_standin.strict import StrictValidationError
from tests.fakes.openai_upstream import ANSWER_SDP, openai_error, unknown_keys
from vend.secret_values import OpenAIApiKey

_CREATE: TypeAdapter[Any] = TypeAdapter(LiveCreateParams)
CLOSE_MODULE = "vend.openai_api.live_close"


@dataclass
class FakeLiveSessions:
    valid_keys: set[str]
    creates: list[dict[str, Any]] = field(default_factory=list)  # every create body, refused ones too
    live: set[str] = field(default_factory=set)
    closes: list[str] = field(default_factory=list)  # session.close, as the sideband sent it
    hangups: list[str] = field(default_factory=list)
    close_budgets: list[float] = field(default_factory=list)  # seconds each close was given
    scripted: deque[httpx.Response | Exception] = field(default_factory=deque)

    def then(self, *outcomes: httpx.Response | Exception) -> FakeLiveSessions:
        self.scripted.extend(outcomes)
        return self

    @property
    def sessions(self) -> list[dict[str, Any]]:
        return [body["session"] for body in self.creates]

    def create(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.valid_keys:
            return openai_error(401, "invalid_api_key", "Incorrect API key provided: sk-…xxxx.")
        if request.headers.get("content-type") != "application/json":
            return openai_error(400, "invalid_request", "The body must be JSON.")
        body = json.loads(request.content)
        self.creates.append(body)
        if self.scripted:
            outcome = self.scripted.popleft()
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        refusal = self._refusal(body)
        if refusal is not None:
            return refusal
        session_id = "live_" + secrets.token_hex(16)
        self.live.add(session_id)
        answer = {"session": {"id": session_id}, "transport": {"type": "webrtc", "sdp": ANSWER_SDP}}
        LiveCreateResponse.model_validate(answer)
        return httpx.Response(201, json=answer)

    @staticmethod
    def _refusal(body: dict[str, Any]) -> httpx.Response | None:
        try:
            # The local stand-in's checks (model, voice, input limits, tools, data-channel selectors)…
            validate_create(body)
            # …and the SDK type itself, again, with nothing it would silently drop.
            extra = unknown_keys(_CREATE.validate_python(body), body)
        except StrictValidationError as exc:
            return openai_error(400, exc.code, exc.message)
        except ValidationError as exc:
            return openai_error(400, "invalid_value", str(exc.errors()[0]["loc"]))
        if extra:
            return openai_error(400, "unknown_parameter", f"Unknown parameter: '{extra[0]}'.")
        if not body["transport"]["sdp"].startswith("v=0"):
            return openai_error(400, "invalid_offer", "Invalid SDP.")
        return None

    def hangup(self, request: httpx.Request, session_id: str) -> httpx.Response:
        self.hangups.append(session_id)
        return httpx.Response(200)  # documented for SIP only: a WebRTC session carries on

    def close_live_session(
        self, base_url: str, api_key: OpenAIApiKey, session_id: str, *, deadline: float
    ) -> bool:
        """The companion's close: attach (404 session_not_found once over), session.close, closed."""
        assert base_url == "https://api.openai.com"
        assert api_key.reveal() in self.valid_keys
        self.close_budgets.append(deadline - time.monotonic())
        if session_id not in self.live:
            return False
        self.closes.append(session_id)
        self.live.discard(session_id)
        return True

    def as_module(self) -> types.ModuleType:
        """Stands in for openai_api/live_close.py (the companion's module) in sys.modules."""
        module = types.ModuleType(CLOSE_MODULE)
        module.close_live_session = self.close_live_session  # type: ignore[attr-defined]
        return module


def mount_live(router: respx.MockRouter, fake: FakeLiveSessions) -> None:
    router.post("/v1/live/sessions", name="live_create").mock(side_effect=fake.create)
    router.post(path__regex=r"^/v1/live/sessions/(?P<session_id>[\w-]+)/hangup$", name="live_hangup").mock(
        side_effect=fake.hangup
    )
