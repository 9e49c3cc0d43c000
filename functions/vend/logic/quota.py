"""How many client secrets a visitor, and the whole stack, may mint: the decision, not the storage.

Two counters move together in one transaction (aws/usage_table.py):
- the visitor's, per fixed window: `visitor#<fingerprint>#<window start>`, limit QUOTA_PER_VISITOR;
- the stack's, per UTC day: `day#<YYYY-MM-DD>`, limit DAILY_CAP.
A full counter refuses with a Retry-After that is true: the end of the window, or the next midnight.
Fixed windows let a visitor spend one window's quota at its very end and the next at its very start;
docs/limits.md states that bound (twice the quota in a moment, never more per window).

A mint that OpenAI then fails gives its count back, so a visitor is not charged for our outage.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from vend.errors import DailyCapReached, QuotaExceeded, VendError
from vend.settings import QuotaLimits
from vend.usage import Counter, CounterFull

EXPIRY_SLACK_SECONDS = 3600  # TTL deletes "some time after"; keep items well past their window


class CounterStore(Protocol):
    def increment(self, counters: list[Counter]) -> None: ...
    def decrement(self, counters: list[Counter]) -> None: ...


@dataclass(frozen=True, slots=True)
class Admission:
    """What one admitted mint counted, so that it can be given back."""

    counters: list[Counter]


class MintQuota:
    def __init__(
        self, limits: QuotaLimits, store: CounterStore, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._limits = limits
        self._store = store
        self._clock = clock

    def admit(self, visitor: str) -> Admission:
        """Count one mint for `visitor` (a fingerprint) and the stack, or raise the refusal."""
        now = self._clock()
        window = self._limits.window_seconds
        window_start = int(now // window) * window
        window_end = window_start + window
        day = dt.datetime.fromtimestamp(now, dt.UTC).date()
        midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp()
        counters = [
            Counter(
                f"visitor#{visitor}#{window_start}",
                self._limits.per_visitor,
                window_end + EXPIRY_SLACK_SECONDS,
            ),
            Counter(f"day#{day.isoformat()}", self._limits.daily_cap, int(midnight) + 86_400),
        ]
        try:
            self._store.increment(counters)
        except CounterFull as full:
            if full.index == 0:
                raise QuotaExceeded(
                    limit=self._limits.per_visitor,
                    window_seconds=window,
                    retry_after_seconds=math.ceil(window_end - now),
                ) from None
            raise DailyCapReached(
                cap=self._limits.daily_cap, retry_after_seconds=math.ceil(midnight - now)
            ) from None
        return Admission(counters)

    def give_back(self, admission: Admission) -> bool:
        """Undo one admission; best effort (False if the table refused), since the mint already failed."""
        try:
            self._store.decrement(admission.counters)
        except (CounterFull, VendError):
            return False
        return True
