"""GPT-Live's exact cost, as it happens: the voice session's seconds and the backend's tokens, in
integer micro-dollars, into the same spend items and budgets as Realtime's.

- Voice: `session.usage.updated` and `session.closed` carry cumulative usage. Each snapshot is priced
  as the session's cost so far, and the spend ledger raises the call's "voice" meter to it, adding only
  the increase over what is recorded (`record_total`): two overlapping generations, a re-attach that
  sees a snapshot again, or a companion that missed some, add each second once. A running snapshot
  that prices lower than what is recorded adds nothing (while the session runs, the call errs towards
  counting more: GPT-Live counts the 15 prepaid seconds as active until standby seconds replace them);
  `session.closed`'s usage is what the session is billed, so it sets the total as it is and closes it.
- Backend: each delegated Responses turn's `response.completed` usage, priced for the model it names
  (the configured backend model if that name has no price), once per response id ("resp#<id>").

The budgets are checked against the totals a write returns; the first budget reached ends the call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from vend.companion.ports import Budget, LivePricing, TotalSpendRecorder
from vend.observability import logger, record_spend
from vend.usage import CallRecord

VOICE_METER = "voice"


class LiveMeter:
    def __init__(
        self,
        record: CallRecord,
        *,
        pricing: Callable[[], LivePricing],
        spend: Callable[[], TotalSpendRecorder],
        budget: Callable[[], Budget],
        voice_model: str,
        backend_model: str,
        clock: Callable[[], float],
    ) -> None:
        self._record = record
        self._pricing = pricing
        self._spend = spend
        self._budget = budget
        self._voice_model = voice_model
        self._backend_model = backend_model
        self._clock = clock
        self.metered_micro_usd = 0  # what this companion added

    def usage(self, usage: object) -> str | None:
        """Meter one cumulative voice usage snapshot; the budget it reached, if any."""
        return self._voice(usage, final=False)

    def final_usage(self, usage: object) -> str | None:
        """Meter `session.closed`'s usage: what the session is billed, even below a running total."""
        return self._voice(usage, final=True)

    def _voice(self, usage: object, *, final: bool) -> str | None:
        if not isinstance(usage, dict):
            return None
        total = self._pricing().voice_total(usage)
        if total <= 0 and not final:
            return None
        increase = self._spend().record_total(
            call_id=self._record.call_id,
            visitor=self._record.visitor,
            day=self._day(),
            model=self._voice_model,
            meter=VOICE_METER,
            total_micro_usd=total,
            final=final,
        )
        if increase is None:
            return None
        if increase.micro_usd <= 0:  # the final usage came in below a running total: corrected
            self.metered_micro_usd += increase.micro_usd
            return None
        return self._added(self._voice_model, increase.totals, increase.micro_usd)

    def response_completed(self, response: Mapping[str, Any]) -> str | None:
        """Meter one delegated Responses turn; the budget it reached, if any."""
        usage, response_id = response.get("usage"), response.get("id")
        if not isinstance(usage, dict) or not isinstance(response_id, str):
            return None
        named = response.get("model")
        model, micro_usd = self._pricing().backend(
            named if isinstance(named, str) else self._backend_model, usage
        )
        if micro_usd <= 0:
            return None
        totals = self._spend().record(
            call_id=self._record.call_id,
            visitor=self._record.visitor,
            day=self._day(),
            model=model,
            event_key=f"resp#{response_id}",
            micro_usd=micro_usd,
        )
        return self._added(model, totals, micro_usd)

    def _day(self) -> str:
        return dt.datetime.fromtimestamp(self._clock(), dt.UTC).date().isoformat()

    def _added(self, model: str, totals: object | None, micro_usd: int) -> str | None:
        if totals is None:
            return None  # recorded already (another generation, an earlier attach)
        self.metered_micro_usd += micro_usd
        record_spend(model, micro_usd)
        reached = self._budget().exceeded(totals)
        if reached is not None:
            logger.info("spend budget reached", extra={"call_id": self._record.call_id, "budget": reached})
        return reached
