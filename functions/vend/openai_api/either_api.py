"""Which voice API a relayed call belongs to, read from its OpenAI id, and the calls client that ends
each call with the API that opened it.

A deploy that switches `VoiceApi` leaves the calls the other API opened running: their scheduled
hangups, the kill switch and their companions' hand-overs come after it, with the new environment.
Realtime's ids are `rtc_…` (openai_api/calls.py reads them from `Location`); GPT-Live's are opaque
(`live_…` in OpenAI's guide, `sess_…` in Azure's), so anything else is a GPT-Live session.
"""

from __future__ import annotations

from typing import Any, Protocol

from vend.secret_values import OpenAIApiKey
from vend.upstream import OpenedCall


def opened_by_realtime(openai_call_id: str) -> bool:
    return openai_call_id.startswith("rtc_")


class _Calls(Protocol):
    def create(
        self,
        api_key: OpenAIApiKey,
        offer_sdp: str,
        session: dict[str, Any],
        *,
        deadline: float,
        safety_identifier: str | None = None,
    ) -> OpenedCall: ...
    def hangup(self, api_key: OpenAIApiKey, openai_call_id: str, *, deadline: float) -> bool: ...


class CallsOfEitherApi:
    """Opens calls with the stack's API (`opens`); ends each with the API its id names."""

    def __init__(self, opens: _Calls, *, realtime: _Calls, live: _Calls) -> None:
        self._opens = opens
        self._realtime = realtime
        self._live = live

    def create(
        self,
        api_key: OpenAIApiKey,
        offer_sdp: str,
        session: dict[str, Any],
        *,
        deadline: float,
        safety_identifier: str | None = None,
    ) -> OpenedCall:
        return self._opens.create(
            api_key, offer_sdp, session, deadline=deadline, safety_identifier=safety_identifier
        )

    def hangup(self, api_key: OpenAIApiKey, openai_call_id: str, *, deadline: float) -> bool:
        api = self._realtime if opened_by_realtime(openai_call_id) else self._live
        return api.hangup(api_key, openai_call_id, deadline=deadline)
