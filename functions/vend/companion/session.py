"""One companion invocation's loop: attach, serve events, keep the timers, and leave the right way.

Leaving the right way is the whole point:
    the cap          hang up at the call's Call-Ends-At, finalise ("cap")
    the budget       a metered event reached a spend budget: hang up, finalise ("spend_cap")
    the goodbye      end_call answered: hang up after the next response.done, finalise ("assistant")
    the call is over a 404 at attach, or a 1000 close and then a 404: finalise ("call_over");
                     GPT-Live's session.closed: finalise with its reason ("expired", …)
    the hand-over    near Lambda's deadline: start generation + 1, serve until it has attached, leave
                     without finalising
    stale            a newer generation already holds the call (a late retry): leave it alone

A drop (any other close, a failed attach) re-attaches by call id with jittered exponential backoff,
and the timers keep running while detached: the cap is an HTTP hangup, not a sideband message (for
GPT-Live, `session.close` on a brief sideband of its own when the companion's is down: live_ending.py).
Client events sent while detached (a tool's answer) wait in an outbox and go out on re-attach.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from vend.companion.finalise import OBSERVED, Finaliser, Reason
from vend.companion.handover import HandOver
from vend.companion.ports import CompanionItems, KeySource
from vend.companion.sideband import (
    OPEN_TIMEOUT_SECONDS,
    CallOver,
    KeyRejected,
    Sideband,
    SidebandClosed,
    SidebandDropped,
)
from vend.companion.timer import Timer
from vend.companion.tool_answers import ToolAnswers
from vend.errors import ServerMisconfigured
from vend.observability import annotate, logger
from vend.secret_values import OpenAIApiKey
from vend.usage import CallRecord

BACKOFF_FIRST_SECONDS = 0.25
BACKOFF_MOST_SECONDS = 8.0
GOODBYE_GRACE_SECONDS = 15.0  # end_call answered but no goodbye came: hang up anyway
POLL_SECONDS = 0.25  # how often the loop looks at the hand-over while it waits for events

MIN_OPEN_SECONDS = 0.25  # an attach shorter than this could not even finish a TLS handshake


class Dispatcher(Protocol):
    """dispatch.py (Realtime) or live_dispatch.py (GPT-Live): what an event, or waiting, means."""

    def handle(self, event: Mapping[str, Any]) -> Reason | None: ...
    def due(self) -> Reason | None: ...


class Ending(Protocol):
    """live_ending.py: end the session over the sideband (GPT-Live), instead of an HTTP hangup."""

    def end(self, sideband: Sideband | None, on_event: Callable[[Mapping[str, Any]], object]) -> None: ...


class Attach(Protocol):
    """Sideband.attach: open the WebSocket within `open_timeout` seconds, or raise."""

    def __call__(self, url: str, api_key: OpenAIApiKey, *, open_timeout: float) -> Sideband: ...


@dataclass(frozen=True, slots=True)
class Collaborators:
    """What a companion is built from (handler.py in production, fakes of these in the tests)."""

    finaliser: Finaliser
    items: CompanionItems
    api_key: KeySource
    handover: HandOver
    sideband_url: str
    attach: Attach = Sideband.attach
    # Run in a thread once attached: imports and clients that the attach need not wait for.
    after_first_attach: Callable[[], None] = lambda: None
    # GPT-Live: how the companion ends the session itself (None: the finaliser's HTTP hangup).
    ending: Ending | None = None


class Companion:
    def __init__(
        self,
        record: CallRecord,
        generation: int,
        timer: Timer,
        parts: Collaborators,
        *,
        tools: Callable[[Callable[[dict[str, Any]], None]], ToolAnswers],
        dispatch: Callable[[ToolAnswers], Dispatcher],
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._record = record
        self._generation = generation
        self._timer = timer
        self._parts = parts
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._lock = threading.Lock()
        self._sideband: Sideband | None = None
        self._outbox: list[dict[str, Any]] = []
        self.tools = tools(self.send)
        self._dispatch = dispatch(self.tools)
        self._attaching = _Attaching()
        self.attaches = 0
        self.attached_at: float | None = None  # clock() of the first attach (the bench reads it)

    def send(self, event: dict[str, Any]) -> None:
        """Send a client event now, or when the sideband is back (never dropped)."""
        with self._lock:
            if self._sideband is not None:
                try:
                    self._sideband.send(event)
                    return
                except (SidebandClosed, SidebandDropped):
                    pass  # the loop sees the drop too and re-attaches
            self._outbox.append(event)

    def run(self) -> str:
        """Serve the call until one of the ways out; the outcome, for the log line."""
        try:
            return self._serve()
        finally:
            with self._lock:
                sideband, self._sideband = self._sideband, None
            if sideband is not None:
                sideband.close()

    def _serve(self) -> str:
        while True:
            now = self._clock()
            outcome = self._timers(now)
            if outcome is None:
                outcome = self._receive(now) if self._sideband is not None else self._reattach(now)
            if outcome is not None:
                return outcome

    def _timers(self, now: float) -> str | None:
        """The cap, a goodbye that never came, the hand-over and the exit time, in that order."""
        timer, handover = self._timer, self._parts.handover
        if now >= timer.cap_at:
            return self._finalise("cap", hang_up=True)
        goodbye = self.tools.goodbye_requested_at
        if goodbye is not None and time.monotonic() - goodbye >= GOODBYE_GRACE_SECONDS:
            return self._finalise("assistant", hang_up=True)
        due = self._dispatch.due()
        if due is not None:
            return self._finalise(due, hang_up=True)
        if now >= timer.handover_at:
            handover.start()
            if not handover.failed and handover.successor_attached():
                return self._leave("handed_over")
        if now >= timer.exit_by:
            if handover.failed:
                # Nobody to take over: fail, so that Lambda's retry of this event re-attaches.
                raise CompanionHandOverFailed
            return self._leave("left_before_successor_attached")
        return None

    def _reattach(self, now: float) -> str | None:
        state = self._attaching
        handing_over = self._parts.handover.started
        if now < state.next_at:
            self._sleep(min(state.next_at - now, self._timer.next_due(now, handing_over=handing_over)))
            return None
        # An attach that hangs must not hold up the cap: it may take only until the next timer.
        open_timeout = min(OPEN_TIMEOUT_SECONDS, self._timer.next_due(now, handing_over=handing_over))
        try:
            self._attach(max(MIN_OPEN_SECONDS, open_timeout))
        except CallOver:
            return self._finalise("call_over", hang_up=False)
        except KeyRejected:
            if state.key_refreshed:
                raise ServerMisconfigured("openai_rejected_key", upstream_status=401) from None
            state.key_refreshed = True
            self._parts.api_key.refreshed()
            return None
        except SidebandDropped as drop:
            self._dropped(now, drop.reason)
            return None
        if not state.taken_over:
            state.taken_over = True
            record = self._record
            if not self._parts.items.take_over(
                record.call_id, self._generation, now=int(now), ends_at=record.ends_at
            ):
                return self._leave("stale")
        return None

    def _receive(self, now: float) -> str | None:
        assert self._sideband is not None  # noqa: S101 - the loop only calls this while attached
        wait = self._timer.next_due(now, handing_over=self._parts.handover.started)
        if self._parts.handover.started or self.tools.goodbye_requested_at is not None:
            wait = min(wait, POLL_SECONDS)
        try:
            event = self._sideband.receive(wait)
        except SidebandClosed:
            # The server's 1000 close: the call is over, unless re-attaching says otherwise (no 404).
            # At once the first time; closes that follow each other back off like drops.
            self._detach()
            state = self._attaching
            state.failures += 1
            state.next_at = 0.0 if state.failures == 1 else self._clock() + self._backoff(state.failures)
            logger.info("sideband closed by server", extra={"call_id": self._record.call_id})
            return None
        except SidebandDropped as drop:
            self._detach()
            self._dropped(self._clock(), drop.reason)
            return None
        if event is None:
            return None
        self._attaching.failures = 0  # the connection works: the next drop starts the backoff afresh
        reason = self._dispatch.handle(event)
        # A reason GPT-Live gave (session.closed) means the session is over: nothing to end.
        return self._finalise(reason, hang_up=reason not in OBSERVED) if reason is not None else None

    def _dropped(self, now: float, reason: str) -> None:
        state = self._attaching
        state.failures += 1
        state.next_at = now + self._backoff(state.failures)
        logger.info("sideband down", extra={"call_id": self._record.call_id, "reason": reason})

    def _attach(self, open_timeout: float) -> None:
        sideband = self._parts.attach(
            self._parts.sideband_url, self._parts.api_key.current(), open_timeout=open_timeout
        )
        self.attaches += 1
        if self.attached_at is None:
            self.attached_at = self._clock()
            threading.Thread(target=self._parts.after_first_attach, name="warm-up", daemon=True).start()
        with self._lock:
            self._sideband = sideband
            outbox, self._outbox = self._outbox, []
        for event in outbox:
            self.send(event)
        annotate(attaches=self.attaches)

    def _detach(self) -> None:
        with self._lock:
            sideband, self._sideband = self._sideband, None
        if sideband is not None:
            sideband.close()

    def _backoff(self, failures: int) -> float:
        return backoff_seconds(failures, self._jitter())

    def _finalise(self, reason: Reason, *, hang_up: bool) -> str:
        ending = self._parts.ending
        if hang_up and ending is not None:
            # GPT-Live: session.close, on the own sideband if attached; the final usage is metered.
            ending.end(self._sideband, self._dispatch.handle)
            hang_up = False
        self._parts.finaliser.finalise(self._record, reason, hang_up=hang_up)
        return f"finalised_{reason}"

    def _leave(self, outcome: str) -> str:
        """Leave the call to the successor: first let this one's running tools answer."""
        left = max(0.0, self._timer.exit_by - self._clock())
        self.tools.wait(left)
        # An answered round waits for its response.done before its response.create goes out, and an
        # end_call for its goodbye: only this companion knows about them, so it stays for them.
        while (
            (self.tools.busy() or self.tools.goodbye_requested_at is not None)
            and self._clock() < self._timer.exit_by
            and self._sideband is not None
        ):
            try:
                event = self._sideband.receive(min(POLL_SECONDS, self._timer.exit_by - self._clock()))
            except (SidebandClosed, SidebandDropped):
                break
            reason = self._dispatch.handle(event) if event is not None else None
            reason = reason if reason is not None else self._dispatch.due()
            if reason is not None:
                return self._finalise(reason, hang_up=reason not in OBSERVED)
        return outcome


def backoff_seconds(failures: int, jitter: float) -> float:
    """Jittered exponential: 0.25 s, 0.5 s, 1 s, … up to 8 s, each scaled by 0.5 to 1.0 (`jitter` in
    [0, 1)), so that the companions of many calls dropped at once do not re-attach in step."""
    ceiling: float = min(BACKOFF_MOST_SECONDS, BACKOFF_FIRST_SECONDS * 2.0 ** (failures - 1))
    return ceiling * (0.5 + jitter / 2)


@dataclass(slots=True)
class _Attaching:
    """Where re-attaching stands: consecutive failures, when to try next, what was done once."""

    failures: int = 0
    next_at: float = 0.0
    key_refreshed: bool = False
    taken_over: bool = False


class CompanionHandOverFailed(Exception):
    """The successor could not be started and this invocation reached its deadline."""
