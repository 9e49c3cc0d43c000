"""The companion's invocation payload: `{"call_id": "call_…", "generation": 0}` (aws/companions.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vend.edge.call_request import CALL_ID

MAX_GENERATION = 10_000  # 15-minute generations: far beyond any call's cap


@dataclass(frozen=True, slots=True)
class CompanionEvent:
    call_id: str
    generation: int


def parse_event(event: Any) -> CompanionEvent | None:
    """The payload, or None when it is malformed (nothing to retry: no call can be named)."""
    if not isinstance(event, dict):
        return None
    call_id = event.get("call_id")
    generation = event.get("generation", 0)
    if not isinstance(call_id, str) or not CALL_ID.fullmatch(call_id):
        return None
    if isinstance(generation, bool) or not isinstance(generation, int):
        return None
    if not 0 <= generation <= MAX_GENERATION:
        return None
    return CompanionEvent(call_id, generation)
