"""From an invocation to a running companion: read the call record, build the loop, run it.

`Parts` is everything a companion uses; `parts_from(providers)` fills it with the real clients of
the execution environment, and the tests fill it with fakes of the collaborators only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vend.companion import collaborators
from vend.companion.event import CompanionEvent
from vend.companion.finalise import Finaliser
from vend.companion.handover import HandOver
from vend.companion.live_wiring import live_parts, realtime_parts
from vend.companion.ports import (
    Budget,
    Calls,
    CompanionItems,
    Companions,
    Hangups,
    KeySource,
    LivePricing,
    Pricing,
    Schedules,
    SpendRecorder,
    ToolOutcome,
    ToolRunner,
    TotalSpendRecorder,
)
from vend.companion.session import Attach, Collaborators, Companion
from vend.companion.sideband import Sideband
from vend.companion.timer import Timer
from vend.companion.tool_answers import ToolAnswers
from vend.errors import ServerMisconfigured
from vend.observability import logger
from vend.openai_api.either_api import opened_by_realtime
from vend.settings import Settings
from vend.usage import CallRecord

if TYPE_CHECKING:
    from vend.providers import Providers

RECORD_WAIT_SECONDS = 3.0  # a record still pending (mark_live not yet visible): look again this long
RECORD_POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Parts:
    settings: Settings
    api_key: KeySource
    calls: Calls
    hangups: Hangups
    schedules: Schedules
    companions: Companions
    items: CompanionItems
    pricing: Callable[[], Pricing]
    spend: Callable[[], SpendRecorder]
    budget: Callable[[], Budget]
    tools: Callable[[], ToolRunner]
    # GPT-Live (VOICE_API=live): its price arithmetic (default: the settings' table) and the spend
    # ledger's cumulative meter.
    live_pricing: Callable[[], LivePricing] | None = None
    live_spend: Callable[[], TotalSpendRecorder] | None = None
    attach: Attach = Sideband.attach
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    # Set by the tests and the bench to look inside a running companion (attach time, round trips).
    observe: Callable[[Companion], None] = field(default=lambda _companion: None)


def parts_from(providers: Providers) -> Parts:
    settings = providers.settings
    client = providers.usage_table.client
    if providers.companion_ledger is None or providers.companions is None:
        # Its own name, for the hand-over: the template sets it for both functions.
        raise ServerMisconfigured("invalid_setting_COMPANION_FUNCTION_NAME")
    return Parts(
        settings=settings,
        api_key=providers.api_key,
        calls=providers.call_ledger,
        hangups=providers.calls_api,
        schedules=providers.schedules,
        companions=providers.companions,
        items=providers.companion_ledger,
        pricing=lambda: collaborators.pricing(settings),
        spend=lambda: collaborators.spend_ledger(settings, client),
        budget=lambda: collaborators.spend_budget(settings, client),
        tools=lambda: collaborators.tool_runner(settings),
        live_pricing=lambda: collaborators.live_pricing(settings),
        live_spend=lambda: collaborators.spend_ledger(settings, client),
    )


def serve(parts: Parts, event: CompanionEvent, *, remaining_seconds: float) -> str:
    """Hold the call's sideband until the call ends or the next generation holds it; the outcome."""
    started = parts.clock()
    record = _record(parts, event.call_id)
    finaliser = Finaliser(
        calls=parts.calls,
        schedules=parts.schedules,
        hangups=parts.hangups,
        api_key=parts.api_key,
        items=parts.items,
        clock=parts.clock,
    )
    if record is None:
        return "unknown_call"
    if record.state == "ended":
        finaliser.finalise(record, "call_over", hang_up=False)
        return "already_ended"
    if record.openai_call_id is None:
        return "not_live"  # the start failed before OpenAI answered: nothing runs, nothing to end

    def run_tool(name: str, arguments_json: str) -> ToolOutcome:
        return parts.tools()(name, arguments_json)

    # The call's own API, not the stack's: a deploy may have switched VOICE_API under a live call.
    api = (realtime_parts if opened_by_realtime(record.openai_call_id) else live_parts)(
        parts, record, record.openai_call_id
    )

    def tools(send: Callable[[dict[str, Any]], None]) -> ToolAnswers:
        return ToolAnswers(
            record, event.generation, items=parts.items, run_tool=run_tool, send=send, answer=api.answer
        )

    def warm_up() -> None:
        """After the attach, build what the first events need, off the loop's thread."""
        for build in (*api.warm_up, parts.budget, parts.tools):
            try:
                build()
            except Exception as error:  # the first event that needs it raises it again, and says so
                logger.warning("companion warm-up failed", extra={"error_type": type(error).__name__})

    companion = Companion(
        record,
        event.generation,
        Timer.start(now=started, remaining_seconds=remaining_seconds, ends_at=record.ends_at),
        Collaborators(
            finaliser=finaliser,
            items=parts.items,
            api_key=parts.api_key,
            handover=HandOver(
                record.call_id, event.generation, companions=parts.companions, items=parts.items
            ),
            sideband_url=api.sideband_url,
            attach=parts.attach,
            after_first_attach=warm_up,
            ending=api.ending,
        ),
        tools=tools,
        dispatch=api.dispatch,
        clock=parts.clock,
        sleep=parts.sleep,
    )
    parts.observe(companion)
    return companion.run()


def _record(parts: Parts, call_id: str) -> CallRecord | None:
    """The call record; a pending one is read again for a moment (the vend function marks it live)."""
    deadline = time.monotonic() + RECORD_WAIT_SECONDS
    while True:
        record = parts.calls.get(call_id)
        if record is None or record.state != "pending" or time.monotonic() >= deadline:
            return record
        parts.sleep(RECORD_POLL_SECONDS)
