"""`GET /api/call/{id}`: is the visitor's call still live, and if it ended, why.

The page learns why a GPT-Live session ended from us, not from its data channel: `session.closed`
carries the whole session (the backend prompt and tools), so it is never delivered to the page. The
companion records the reason it saw (CompanionLedger.mark_finalised); this only reads it. Another
visitor's call, or an unknown one, is not found: the same answer, so ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from vend.errors import CallNotFound
from vend.usage import CallRecord

# Ours (the companion's): the cap, the assistant's end_call, the spend cap, a call found over; and
# GPT-Live's own session.closed reasons.
REASONS = frozenset(
    {
        "cap", "assistant", "spend_cap", "call_over",
        "close_requested", "expired", "content", "remote_hangup", "connection_lost",
    }
)  # fmt: skip


class CallRecords(Protocol):
    def get(self, call_id: str) -> CallRecord | None: ...


class FinalisedReasons(Protocol):
    """aws/companion_ledger.py's CompanionLedger in production (read only)."""

    def finalised_reason(self, call_id: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class CallStatus:
    status: Literal["live", "ended"]
    reason: str | None

    def response_body(self) -> dict[str, str | None]:
        return {"status": self.status, "reason": self.reason}


class CallStatusReader:
    def __init__(self, records: CallRecords, reasons: FinalisedReasons | None) -> None:
        self._records = records
        self._reasons = reasons  # None: no companion, so no reason is ever recorded

    def status(self, call_id: str, *, visitor: str) -> CallStatus:
        record = self._records.get(call_id)
        if record is None or record.visitor != visitor:
            raise CallNotFound("call_unknown_or_not_yours")
        reason = self._reasons.finalised_reason(call_id) if self._reasons is not None else None
        # A recorded reason means the session is over, whatever the record says yet.
        ended = record.state == "ended" or reason is not None
        if reason not in REASONS:
            reason = None  # a reason this API does not document is not one the page can show
        return CallStatus("ended" if ended else "live", reason)
