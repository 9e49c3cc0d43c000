"""The dollar budgets of relayed calls: the decision, not the storage (aws/spend_ledger.py).

Admission (a new call, a new client secret) asks `require_room`: a visitor whose metered spend today
reached CALL_DOLLARS_PER_VISITOR_PER_DAY, or any visitor once the stack's reached CALL_DOLLARS_PER_DAY,
gets 429 `spend_cap_reached` with a Retry-After to the next 00:00 UTC. The companion asks `exceeded`
with the totals `record` returned after each event, and ends the live call when it answers.

Spend is known only after it happened, so the budgets are crossed, never stopped at: by what the calls
live at that moment spend until their companions end them (docs/limits.md states the bound).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal, Protocol

from vend.errors import SpendCapReached
from vend.metering.totals import SpendTotals

Over = Literal["visitor", "stack"]


class SpendTotalsReader(Protocol):
    def totals(self, *, visitor: str, day: str, call_id: str | None = None) -> SpendTotals: ...


class SpendBudget:
    def __init__(self, *, visitor_micro_usd: int, stack_micro_usd: int, ledger: SpendTotalsReader) -> None:
        self._visitor = visitor_micro_usd
        self._stack = stack_micro_usd
        self._ledger = ledger

    def require_room(self, visitor: str, *, now: int) -> None:
        """Raise SpendCapReached if `visitor` (a fingerprint) or the stack spent its budget today."""
        day = dt.datetime.fromtimestamp(now, dt.UTC).date()
        over = self.exceeded(self._ledger.totals(visitor=visitor, day=day.isoformat()))
        if over is not None:
            midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp()
            raise SpendCapReached(who=over, retry_after_seconds=math.ceil(midnight - now))

    def exceeded(self, totals: SpendTotals) -> Over | None:
        """Which budget `totals` reached: the visitor's first (the narrower reason), else the stack's."""
        if totals.visitor_day >= self._visitor:
            return "visitor"
        if totals.stack_day >= self._stack:
            return "stack"
        return None
