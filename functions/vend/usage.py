"""What the usage table holds and what writing it can refuse, as plain values.

The ground floor: `logic/` decides with these, `aws/usage_table.py` and `aws/call_ledger.py` store
them, and nothing here imports boto3, so the decisions load (and are tested) without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

CallState = Literal["pending", "live", "ended"]


@dataclass(frozen=True, slots=True)
class Counter:
    key: str
    limit: int
    expires_at: int  # epoch seconds; DynamoDB's TTL deletes the item some time after


class CounterFull(Exception):
    """The transaction was cancelled because item `index`'s condition failed (a counter at its limit,
    a lease still held…); `old_item` is that item as it was, when the request asked for it."""

    def __init__(self, index: int, old_item: dict[str, Any] | None = None) -> None:
        super().__init__(f"condition {index} failed")
        self.index = index
        self.old_item = old_item


@dataclass(frozen=True, slots=True)
class CallRecord:
    call_id: str
    visitor: str
    slot: int
    day: str
    started_at: int
    ends_at: int
    charged_seconds: int
    state: CallState
    openai_call_id: str | None = None


@dataclass(frozen=True, slots=True)
class Budgets:
    """The call-seconds a visitor, and the whole stack, may be charged per UTC day."""

    visitor_seconds: int
    stack_seconds: int


class SlotTaken(Exception):
    """The lease slot holds a call that has not reached its end; `ends_at` says when it will."""

    def __init__(self, ends_at: int | None) -> None:
        super().__init__("slot taken")
        self.ends_at = ends_at
