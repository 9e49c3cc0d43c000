"""The exact cost of a call, as it happens: every `response.done` usage and every input transcription's
usage, priced in integer micro-dollars and added once per event to the spend items.

Each event has a key that is the same whichever companion sees it (the response id, "tx#" + the
transcribed item's id), so two overlapping generations, or a re-attach that sees an event again, count
it once: the spend ledger refuses a key it holds already. The budgets are checked against the totals
the write returns, and the first budget reached ends the call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from vend.companion.ports import Budget, Pricing, SpendRecorder
from vend.observability import logger, record_spend
from vend.usage import CallRecord


class Meter:
    def __init__(
        self,
        record: CallRecord,
        *,
        pricing: Callable[[], Pricing],
        spend: Callable[[], SpendRecorder],
        budget: Callable[[], Budget],
        model: str,
        transcription_model: str | None,
        clock: Callable[[], float],
    ) -> None:
        self._record = record
        # Resolved on first use (each is built once per environment): the attach does not wait for them.
        self._pricing = pricing
        self._spend = spend
        self._budget = budget
        self._model = model
        self._transcription_model = transcription_model
        self._clock = clock
        self.metered_micro_usd = 0  # what this companion added (the log line reports it)

    def response_done(self, event: Mapping[str, Any]) -> str | None:
        """Meter one response; the budget it reached ("visitor" / "stack"), if any."""
        response = event.get("response")
        if not isinstance(response, dict):
            return None
        usage, response_id = response.get("usage"), response.get("id")
        if not isinstance(usage, dict) or not isinstance(response_id, str):
            return None  # a cancelled response before any token has no usage: nothing was billed
        return self._add(self._model, self._pricing().response(usage), response_id)

    def transcription_done(self, event: Mapping[str, Any]) -> str | None:
        usage, item_id = event.get("usage"), event.get("item_id")
        if not isinstance(usage, dict) or not isinstance(item_id, str) or self._transcription_model is None:
            return None
        return self._add(self._transcription_model, self._pricing().transcription(usage), f"tx#{item_id}")

    def _add(self, model: str, micro_usd: int, event_key: str) -> str | None:
        if micro_usd <= 0:
            return None
        day = dt.datetime.fromtimestamp(self._clock(), dt.UTC).date().isoformat()
        totals = self._spend().record(
            call_id=self._record.call_id,
            visitor=self._record.visitor,
            day=day,
            model=model,
            event_key=event_key,
            micro_usd=micro_usd,
        )
        if totals is None:
            return None  # another generation (or an earlier attach) recorded this event
        self.metered_micro_usd += micro_usd
        record_spend(model, micro_usd)
        reached = self._budget().exceeded(totals)
        if reached is not None:
            logger.info("spend budget reached", extra={"call_id": self._record.call_id, "budget": reached})
        return reached
