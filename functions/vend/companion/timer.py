"""The companion's clock: when the call's cap falls, when to hand over, and when this invocation must
be gone. All in epoch seconds (the call record's `ends_at` is), from one injectable clock.

The hand-over lead is 60 s against Lambda's 15 minutes, and scales down for the local stack's emulated
deadlines of a few seconds (a third of the time the invocation started with), so that the successor has
time to start and attach before this one leaves, at the latest a second before the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass

HANDOVER_LEAD_SECONDS = 60.0
EXIT_MARGIN_SECONDS = 1.0  # leave this much of the deadline unused: Lambda kills at the deadline


@dataclass(frozen=True, slots=True)
class Timer:
    cap_at: float  # the call's Call-Ends-At: the companion hangs up then
    handover_at: float  # start the successor then
    exit_by: float  # this invocation returns by then, successor attached or not

    @classmethod
    def start(cls, *, now: float, remaining_seconds: float, ends_at: float) -> Timer:
        lead = min(HANDOVER_LEAD_SECONDS, remaining_seconds / 3)
        # A quarter of the lead at most, so that an emulated deadline still leaves the successor time.
        margin = min(EXIT_MARGIN_SECONDS, lead / 4)
        deadline = now + remaining_seconds
        return cls(cap_at=ends_at, handover_at=deadline - lead, exit_by=deadline - margin)

    def next_due(self, now: float, *, handing_over: bool) -> float:
        """Seconds until the next thing this timer decides (never negative)."""
        upcoming = [self.cap_at, self.exit_by] + ([] if handing_over else [self.handover_at])
        return max(0.0, min(upcoming) - now)
