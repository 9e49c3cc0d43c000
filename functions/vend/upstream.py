"""What OpenAI gave us, as plain values: a minted client secret, an opened call.

The ground floor: `openai_api/` builds these from OpenAI's answers, `logic/` and `app.py` use them,
and nothing here imports httpx.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vend.secret_values import ClientSecretValue


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


@dataclass(frozen=True, slots=True)
class OpenedCall:
    answer_sdp: str
    openai_call_id: str
    upstream_latency_ms: float
    attempts: int
