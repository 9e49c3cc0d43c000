"""What has been spent, as the spend ledger reads it: a plain value, so `logic/` decides without boto3."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SpendTotals:
    """Metered micro-dollars: this call's (0 when not asked), the visitor's UTC day, the stack's UTC day."""

    call: int
    visitor_day: int
    stack_day: int


@dataclass(frozen=True, slots=True)
class Increase:
    """What raising a cumulative meter added (micro-dollars), and the totals after it."""

    micro_usd: int
    totals: SpendTotals
