"""Relayed calls: the server opens each call with the real key, knows its id, and ends it at its cap.

Start: take a lease slot and charge the whole cap (one transaction), post the offer to OpenAI, then
schedule the hangup. If OpenAI fails, the charge is given back; if the hangup cannot be scheduled,
the call is hung up at once, since a call without a server-enforced end is what relay exists to
prevent. End (the page, the schedule, the kill switch): hang up upstream (404 = already over), drop
the schedule, mark the record ended, free the lease, refund what is left of the cap. All idempotent.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from vend.conversation import Conversation
from vend.errors import (
    CallMinutesCapReached,
    CallMinutesSpent,
    CallNotFound,
    ConcurrentCalls,
    ServerMisconfigured,
    UpstreamUnauthorized,
    VendError,
)
from vend.logic.api_key import OpenAIApiKeySource
from vend.logic.live_session_config import live_session
from vend.logic.session_config import relay_session
from vend.logic.spend_budget import SpendBudget
from vend.observability import annotate, logger, record_companion_failure, upstream_span
from vend.secret_values import OpenAIApiKey
from vend.settings import Settings
from vend.upstream import OpenedCall
from vend.usage import Budgets, CallRecord, CounterFull, SlotTaken

HANGUP_SECONDS = 10.0  # budget for one upstream hangup outside a request (schedule, kill switch)


class CallsApi(Protocol):
    """OpenAI's `POST /v1/realtime/calls` and its hangup (openai_api/calls.py in production), or
    GPT-Live's `POST /v1/live/sessions` and its close (openai_api/live_sessions.py) when
    VOICE_API is live."""

    def create(
        self,
        api_key: OpenAIApiKey,
        offer_sdp: str,
        session: dict[str, Any],
        *,
        deadline: float,
        safety_identifier: str | None = None,
    ) -> OpenedCall: ...
    def hangup(self, api_key: OpenAIApiKey, openai_call_id: str, *, deadline: float) -> bool: ...


class Ledger(Protocol):
    """Where calls are leased, charged and recorded (aws/call_ledger.py in production)."""

    def start(self, call: CallRecord, budgets: Budgets, *, now: int) -> None: ...
    def mark_live(self, call_id: str, openai_call_id: str) -> None: ...
    def get(self, call_id: str) -> CallRecord | None: ...
    def end(self, call: CallRecord, *, refund_seconds: int, free_lease: bool = True) -> bool: ...
    def live_calls(self) -> Iterator[CallRecord]: ...


class CompanionStarter(Protocol):
    """Queues the call's companion (aws/companions.py in production): raises if it could not."""

    def start(self, call_id: str, generation: int = 0) -> None: ...


class HangupSchedules(Protocol):
    """One schedule per call that ends it at its cap (aws/schedules.py in production)."""

    def create(self, call_id: str, at_epoch: int) -> None: ...
    def delete(self, call_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class StartedCall:
    call_id: str
    answer_sdp: str
    ends_at: int


class CallRelay:
    def __init__(
        self,
        settings: Settings,
        api_key: OpenAIApiKeySource,
        api: CallsApi,
        ledger: Ledger,
        schedules: HangupSchedules,
        *,
        companions: CompanionStarter | None = None,
        clock: Callable[[], float] = time.time,
        spend: SpendBudget | None = None,
    ) -> None:
        self._spend = spend
        self._settings = settings
        self._limits = settings.calls
        self._api_key = api_key
        self._api = api
        self._ledger = ledger
        self._schedules = schedules
        self._companions = companions
        self._clock = clock

    def start(
        self,
        offer_sdp: str,
        *,
        visitor: str,
        deadline: float,
        replaces: str | None = None,
        conversation: Conversation = (),
    ) -> StartedCall:
        """Open a call; `replaces` (the visitor's own call that just dropped) is ended first, in this
        request, so a reconnect needs neither a DELETE round trip nor a free slot beside the dead call.
        `conversation` (GPT-Live only: the edge accepts it only there) seeds the new session."""
        if replaces is not None:
            self._end_replaced(replaces, visitor, deadline)
        now = int(self._clock())
        call = self._admit(visitor, now)
        annotate(call_id=call.call_id, call_slot=call.slot)
        try:
            opened = self._open(offer_sdp, visitor, deadline, conversation)
        except Exception:
            annotate(call_refunded=self._ledger.end(call, refund_seconds=call.charged_seconds))
            raise
        # The companion is queued beside the schedule and the record's update, not after them: the
        # visitor waits for the slowest of the three, not their sum. It re-reads a record still pending.
        # (In a copy of this context, so that its annotations reach this request's log line.)
        companion = threading.Thread(
            target=contextvars.copy_context().run, args=(self._start_companion, call.call_id), daemon=True
        )
        companion.start()
        try:
            try:
                self._schedules.create(call.call_id, call.ends_at)
            except VendError:
                # No server-enforced end: do not let the call run. The browser's answer is never sent
                # (a companion that attaches meanwhile finds the call over and finalises nothing twice).
                self._hang_up(opened.openai_call_id)
                self._ledger.end(call, refund_seconds=call.charged_seconds)
                raise
            self._ledger.mark_live(call.call_id, opened.openai_call_id)
        finally:
            companion.join()  # Lambda freezes the environment once the handler returns
        annotate(upstream_latency_ms=round(opened.upstream_latency_ms, 2), upstream_attempts=opened.attempts)
        return StartedCall(call.call_id, opened.answer_sdp, call.ends_at)

    def _start_companion(self, call_id: str) -> None:
        """After mark_live (the companion reads the OpenAI call id from the record). Not fatal: without
        a companion the call still ends at its cap by the scheduled hangup, only less exactly."""
        if self._companions is None:
            return
        try:
            self._companions.start(call_id)
        except Exception as error:
            record_companion_failure()
            logger.error(
                "companion not started",
                extra={"call_id": call_id, "reason": getattr(error, "reason", type(error).__name__)},
            )
            annotate(companion="not_started")
            return
        annotate(companion="started")

    def end(self, call_id: str, *, visitor: str, deadline: float | None = None) -> None:
        """The page ends its own call (idempotent); another visitor's call is simply not found.

        `deadline` (the request's): the hangup must answer before the invocation's own timeout. A
        GPT-Live close waits for `session.closed`, which can take longer than a Realtime hangup; one
        cut short leaves the call to its schedule, as any failed hangup does."""
        record = self._ledger.get(call_id)
        if record is None or record.visitor != visitor:
            raise CallNotFound("call_unknown_or_not_yours")
        if record.state == "ended":
            annotate(call_already_ended=True)
            return
        self._finish(record, refund=True, drop_schedule=True, deadline=deadline)

    def _end_replaced(self, call_id: str, visitor: str, deadline: float) -> None:
        record = self._ledger.get(call_id)
        # Another visitor's or an unknown call is ignored: the answer must not say which ids exist.
        if record is None or record.visitor != visitor or record.state == "ended":
            return
        self._finish(record, refund=True, drop_schedule=True, deadline=deadline)
        annotate(replaced_call=call_id)

    def end_scheduled(self, call_id: str) -> bool:
        """The schedule fired: the cap is reached. False if the call had ended already."""
        record = self._ledger.get(call_id)
        if record is None or record.state == "ended":
            return False
        self._finish(record, refund=False, drop_schedule=False)
        return True

    def end_all(self) -> int:
        """The kill switch: every call not ended yet, hung up now."""
        ended = 0
        for record in self._ledger.live_calls():
            try:
                self._finish(record, refund=False, drop_schedule=True)
                ended += 1
            except VendError as error:  # one stuck call must not keep the others running
                logger.error(
                    "kill switch could not end a call",
                    extra={"call_id": record.call_id, "reason": error.reason},
                )
        return ended

    def _admit(self, visitor: str, now: int) -> CallRecord:
        if self._spend is not None:  # metered dollars first: a spent budget takes no lease or charge
            self._spend.require_room(visitor, now=now)
        cap = self._limits.max_call_seconds
        day = dt.datetime.fromtimestamp(now, dt.UTC).date()
        budgets = Budgets(self._limits.minutes_per_visitor * 60, self._limits.minutes_per_day * 60)
        call_id = f"call_{secrets.token_hex(16)}"
        earliest_end: int | None = None
        for slot in range(self._limits.concurrent_per_visitor):
            call = CallRecord(
                call_id=call_id,
                visitor=visitor,
                slot=slot,
                day=day.isoformat(),
                started_at=now,
                ends_at=now + cap,
                charged_seconds=cap,
                state="pending",
            )
            try:
                self._ledger.start(call, budgets, now=now)
            except SlotTaken as taken:
                if taken.ends_at is not None:
                    earliest_end = taken.ends_at if earliest_end is None else min(earliest_end, taken.ends_at)
                continue
            except CounterFull as full:
                midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp()
                wait = math.ceil(midnight - now)
                if full.index == 1:
                    raise CallMinutesSpent(
                        minutes=self._limits.minutes_per_visitor, retry_after_seconds=wait
                    ) from None
                raise CallMinutesCapReached(
                    minutes=self._limits.minutes_per_day, retry_after_seconds=wait
                ) from None
            return call
        raise ConcurrentCalls(
            limit=self._limits.concurrent_per_visitor,
            retry_after_seconds=max(1, (earliest_end or now + cap) - now),
        )

    def _open(self, offer_sdp: str, visitor: str, deadline: float, conversation: Conversation) -> OpenedCall:
        if self._settings.voice_api == "live":
            session = live_session(self._settings, safety_identifier=visitor, conversation=conversation)
            span = "openai.live.sessions"
            annotate(conversation_carried=len(session.get("input", ())), conversation_sent=len(conversation))
        else:
            session, span = relay_session(self._settings), "openai.calls"
        key = self._api_key.current()
        try:
            with upstream_span(span):
                return self._api.create(key, offer_sdp, session, deadline=deadline, safety_identifier=visitor)
        except UpstreamUnauthorized:
            # A rotated key: re-read once, as for client secrets. (A 401 opened no session, so for
            # GPT-Live this second create is not a repeated, billed one.)
            fresh = self._api_key.refreshed()
            annotate(key_refreshed=True)
            if fresh == key:
                raise ServerMisconfigured("openai_rejected_key", upstream_status=401) from None
            with upstream_span(span):
                return self._api.create(
                    fresh, offer_sdp, session, deadline=deadline, safety_identifier=visitor
                )

    def _finish(
        self, record: CallRecord, *, refund: bool, drop_schedule: bool, deadline: float | None = None
    ) -> None:
        if record.openai_call_id:
            self._hang_up(record.openai_call_id, deadline)
        if drop_schedule:
            self._schedules.delete(record.call_id)
        unused = max(0, record.ends_at - int(self._clock())) if refund else 0
        self._ledger.end(record, refund_seconds=unused)
        annotate(call_id=record.call_id, refunded_seconds=unused)

    def _hang_up(self, openai_call_id: str, within: float | None = None) -> None:
        deadline = time.monotonic() + HANGUP_SECONDS
        if within is not None:
            deadline = min(deadline, within)
        with upstream_span("openai.calls.hangup"):
            live = self._api.hangup(self._api_key.current(), openai_call_id, deadline=deadline)
        annotate(upstream_hangup="ended" if live else "already_over")
