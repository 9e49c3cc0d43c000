"""Ending a call from the companion: hang up (when the call may still be live), drop the backstop
schedule, end the record with the unused part of the charge given back, and say why once.

Idempotent across retries and generations, step by step: a hangup of an ended call is a 404 (or 400)
that means "already over", a missing schedule is fine, `CallLedger.end` does nothing to an ended record,
and the finalise marker lets only the first finaliser log the reason. A failure raises: the invocation
fails, Lambda retries it, and the retry finds the call in whatever state the first attempt left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from vend.companion.ports import Calls, CompanionItems, Hangups, KeySource, Schedules
from vend.errors import UpstreamUnauthorized, VendError
from vend.observability import annotate, logger
from vend.usage import CallRecord

HANGUP_SECONDS = 5.0
# Why a call ended, as the companion saw it (the log line's `reason` and the finalise marker): its
# own reasons, "call_over" (found over), or GPT-Live's `session.closed.reason` for an end it did not cause.
Reason = Literal[
    "cap",
    "spend_cap",
    "assistant",
    "call_over",
    "close_requested",
    "expired",
    "content",
    "remote_hangup",
    "connection_lost",
]
OBSERVED: frozenset[Reason] = frozenset(
    {"call_over", "close_requested", "expired", "content", "remote_hangup", "connection_lost"}
)
_ALREADY_OVER = frozenset({400, 404})


class Finaliser:
    def __init__(
        self,
        *,
        calls: Calls,
        schedules: Schedules,
        hangups: Hangups,
        api_key: KeySource,
        items: CompanionItems,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._calls = calls
        self._schedules = schedules
        self._hangups = hangups
        self._api_key = api_key
        self._items = items
        self._clock = clock

    def hang_up(self, record: CallRecord) -> bool:
        """End the call at OpenAI now; False if it was already over."""
        if not record.openai_call_id:
            return False
        deadline = time.monotonic() + HANGUP_SECONDS
        try:
            try:
                return self._hangups.hangup(self._api_key.current(), record.openai_call_id, deadline=deadline)
            except UpstreamUnauthorized:  # a rotated key: read it again once, as the vend function does
                return self._hangups.hangup(
                    self._api_key.refreshed(), record.openai_call_id, deadline=deadline
                )
        except VendError as error:
            if error.upstream_status in _ALREADY_OVER:
                return False
            raise

    def finalise(self, record: CallRecord, reason: Reason, *, hang_up: bool) -> bool:
        """End the call everywhere; True if this companion was the one that ended the record."""
        if hang_up:
            annotate(upstream_hangup="ended" if self.hang_up(record) else "already_over")
        self._schedules.delete(record.call_id)
        now = self._clock()
        refund = max(0, int(record.ends_at - now))
        ended = self._calls.end(record, refund_seconds=refund)
        first = self._items.mark_finalised(record.call_id, reason, now=int(now), ends_at=record.ends_at)
        if first:
            logger.info(
                "call finalised",
                extra={
                    "call_id": record.call_id,
                    "reason": reason,
                    # what the ledger applied: nothing if the page or the schedule had ended it first
                    "refunded_seconds": refund if ended else 0,
                    "late_ms": round(max(0.0, now - record.ends_at) * 1000) if reason == "cap" else None,
                },
            )
        annotate(finalised=reason, record_ended=ended)
        return ended
