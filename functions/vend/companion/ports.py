"""What the companion needs from others, as small Protocols: the loop is tested against real
WebSockets with fakes of these collaborators only, and production passes the real ones (handler.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from vend.metering.totals import Increase
from vend.secret_values import OpenAIApiKey
from vend.usage import CallRecord


class KeySource(Protocol):
    """logic/api_key.py: the cached key, and a fresh read after a 401."""

    def current(self) -> OpenAIApiKey: ...
    def refreshed(self) -> OpenAIApiKey: ...


class Hangups(Protocol):
    """openai_api/calls.py: True if the call was live, False if OpenAI says it is over (404)."""

    def hangup(self, api_key: OpenAIApiKey, openai_call_id: str, *, deadline: float) -> bool: ...


class Calls(Protocol):
    """aws/call_ledger.py: the call's record, and its end (idempotent; False if already ended)."""

    def get(self, call_id: str) -> CallRecord | None: ...
    def end(self, call: CallRecord, *, refund_seconds: int, free_lease: bool = True) -> bool: ...


class Schedules(Protocol):
    """aws/schedules.py: the backstop hangup, dropped once the companion has ended the call."""

    def delete(self, call_id: str) -> bool: ...


class Companions(Protocol):
    """aws/companions.py: queue one companion invocation (the hand-over's successor)."""

    def start(self, call_id: str, generation: int = 0) -> None: ...


class CompanionItems(Protocol):
    """aws/companion_ledger.py: generations, tool-call claims and the finalise marker."""

    def take_over(self, call_id: str, generation: int, *, now: int, ends_at: int) -> bool: ...
    def generation(self, call_id: str) -> int | None: ...
    def claim_tool_call(
        self, call_id: str, function_call_id: str, generation: int, *, ends_at: int
    ) -> bool: ...
    def mark_finalised(self, call_id: str, reason: str, *, now: int, ends_at: int) -> bool: ...


class SpendRecorder(Protocol):
    """aws/spend_ledger.py: adds a metered cost once per event key; None if already recorded."""

    def record(
        self, *, call_id: str, visitor: str, day: str, model: str, event_key: str, micro_usd: int
    ) -> object | None: ...


class TotalSpendRecorder(SpendRecorder, Protocol):
    """aws/spend_ledger.py, for GPT-Live's cumulative usage: moves a call's meter to a total, adding
    only the difference to what the call recorded before (a running total never lowers it, the final
    one does); None if nothing changed."""

    def record_total(
        self,
        *,
        call_id: str,
        visitor: str,
        day: str,
        model: str,
        meter: str,
        total_micro_usd: int,
        final: bool = False,
    ) -> Increase | None: ...


class Budget(Protocol):
    """logic/spend_budget.py: which budget the totals reached, if any ("visitor" or "stack")."""

    def exceeded(self, totals: Any) -> str | None: ...


class Pricing(Protocol):
    """metering/cost.py with the price table bound: integer micro-dollars of one usage object."""

    def response(self, usage: Mapping[str, Any]) -> int: ...
    def transcription(self, usage: Mapping[str, Any]) -> int: ...


class LivePricing(Protocol):
    """metering/live_cost.py with the price table bound: integer micro-dollars."""

    def voice_total(self, usage: Mapping[str, Any]) -> int: ...
    def backend(self, model: str, usage: Mapping[str, Any]) -> tuple[str, int]: ...


class ToolOutcome(Protocol):
    """tools/executor.py's result: the text the model gets, whether it worked, whether it ends the call."""

    @property
    def output(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def ends_call(self) -> bool: ...


class ToolRunner(Protocol):
    """tools/executor.run_tool_call with the enabled tools bound: never raises, bounded by a timeout."""

    def __call__(self, name: str, arguments_json: str) -> ToolOutcome: ...
