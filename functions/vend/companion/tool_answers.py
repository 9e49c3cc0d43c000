"""Server tools: each function call the model makes is claimed, run, and answered exactly once.

Which event starts a tool: `response.function_call_arguments.done`. It arrives as soon as the
arguments are complete, before the response's other output and its `response.done`, so the tool
runs while the model is still finishing (the issue's round trip is measured from that event). The
function_call items of `response.done` are swept as well: a companion that re-attached, or a
successor that attached mid-response, may have missed the arguments event; the claim makes sure
that one of them, never two, runs each call.

The claim is a conditional put keyed by the function call's own call_id (aws/companion_ledger.py), so
two overlapping generations cannot both answer. The answer is `conversation.item.create`
(function_call_output) as soon as the tool returns, and one `response.create` once the response that
asked is done and all its calls are answered: OpenAI refuses a response.create while a response is
active. A tool runs in a thread of its own, bounded by its timeout, so the cap and the metering go on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vend.companion.ports import CompanionItems, ToolOutcome, ToolRunner
from vend.observability import logger, record_companion_failure
from vend.usage import CallRecord

Send = Callable[[dict[str, Any]], None]
LIVE_CLAIM_ATTEMPTS = 3
LIVE_CLAIM_BACKOFF_SECONDS = 0.1
Answer = Callable[[str, str], dict[str, Any]]  # (function call id, output) → the client event


def realtime_answer(call_id: str, output: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": call_id, "output": output},
    }


def live_answer(call_id: str, output: str) -> dict[str, Any]:
    """GPT-Live: the output goes to the Responses backend that asked (then `response.create`)."""
    return {
        "type": "response.item.create",
        "item": {"type": "function_call_output", "call_id": call_id, "output": output},
    }


@dataclass(slots=True)
class _Round:
    """The function calls of one response, and whether its response.create has gone out."""

    pending: set[str] = field(default_factory=set)
    answered: int = 0
    done: bool = False
    responded: bool = False
    ends_call: bool = False


class ToolAnswers:
    def __init__(
        self,
        record: CallRecord,
        generation: int,
        *,
        items: CompanionItems,
        run_tool: ToolRunner,
        send: Send,
        answer: Answer = realtime_answer,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._record = record
        self._generation = generation
        self._items = items
        self._run_tool = run_tool
        self._send = send
        self._answer = answer
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rounds: dict[str, _Round] = {}
        self._open: dict[str, str] = {}  # GPT-Live: a delegation's round that has not responded yet
        self._seen: set[str] = set()  # function call ids this companion already decided about
        self._threads: list[threading.Thread] = []
        # The response (id) whose response.create followed an end_call output: the goodbye.
        self.goodbye_requested_at: float | None = None
        self.round_trips_ms: list[float] = []  # arguments done → output sent (the bench reads these)

    def arguments_done(self, event: Mapping[str, Any]) -> None:
        self._consider(
            event.get("response_id"), event.get("call_id"), event.get("name"), event.get("arguments")
        )

    def response_done(self, event: Mapping[str, Any]) -> None:
        response = event.get("response")
        if not isinstance(response, dict) or not isinstance(response.get("id"), str):
            return
        response_id: str = response["id"]
        for item in response.get("output") or []:
            if isinstance(item, dict) and item.get("type") == "function_call":
                self._consider(response_id, item.get("call_id"), item.get("name"), item.get("arguments"))
        with self._lock:
            round_ = self._rounds.get(response_id)
            if round_ is not None:
                round_.done = True
        self._respond_if_ready(response_id)

    def item_done(self, delegation: str, item: Mapping[str, Any]) -> None:
        """GPT-Live: a backend's `response.output_item.done`. Its function call is answered at once,
        then `response.create`: the backend waits for the output before it completes its response, so
        there is no "response done" to wait for (a second call of the same turn that arrives after the
        first was answered gets a round, and a response.create, of its own)."""
        if item.get("type") != "function_call":
            return
        with self._lock:
            round_id = self._open.get(delegation)
            if round_id is None or self._rounds[round_id].responded:
                round_id = f"{delegation}#{len(self._rounds)}"
                self._open[delegation] = round_id
                self._rounds[round_id] = _Round(done=True)
        call_id = item.get("call_id")
        # No later event lists the call again (Realtime's response.done sweep has no GPT-Live
        # counterpart), so a claim that failed (DynamoDB throttled) is tried again here, briefly.
        for attempt in range(LIVE_CLAIM_ATTEMPTS):
            self._consider(round_id, call_id, item.get("name"), item.get("arguments"))
            with self._lock:
                if not isinstance(call_id, str) or call_id in self._seen:
                    return
            if attempt + 1 < LIVE_CLAIM_ATTEMPTS:
                self._sleep(LIVE_CLAIM_BACKOFF_SECONDS * (attempt + 1))

    def busy(self) -> bool:
        """A claimed call not answered yet, or an answered round still waiting for its response.create."""
        with self._lock:
            return any(r.pending or (r.answered and not r.responded) for r in self._rounds.values())

    def wait(self, timeout: float) -> None:
        """Let running tools finish (before this companion leaves a hand-over)."""
        end = self._clock() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, end - self._clock()))

    def _consider(self, response_id: object, call_id: object, name: object, arguments: object) -> None:
        if not (isinstance(response_id, str) and isinstance(call_id, str) and isinstance(name, str)):
            return
        with self._lock:
            if call_id in self._seen:
                return
            self._seen.add(call_id)
        started = self._clock()
        try:
            claimed = self._items.claim_tool_call(
                self._record.call_id, call_id, self._generation, ends_at=self._record.ends_at
            )
        except Exception as error:
            # Not claimed, so not run here: forget it, and the response.done sweep tries again.
            with self._lock:
                self._seen.discard(call_id)
            record_companion_failure()
            logger.error("tool claim failed", extra={"tool": name, "error_type": type(error).__name__})
            return
        if not claimed:
            return  # the other generation runs it
        with self._lock:
            self._rounds.setdefault(response_id, _Round()).pending.add(call_id)
        thread = threading.Thread(
            target=self._run,
            args=(response_id, call_id, name, arguments if isinstance(arguments, str) else "{}", started),
            name=f"tool-{name}",
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()

    def _run(self, response_id: str, call_id: str, name: str, arguments: str, started: float) -> None:
        outcome = self._outcome(name, arguments)
        self._send(self._answer(call_id, outcome.output))
        self.round_trips_ms.append((self._clock() - started) * 1000)
        # The tool's name and whether it worked; never its arguments or output (they may be personal).
        logger.info("tool answered", extra={"call_id": self._record.call_id, "tool": name, "ok": outcome.ok})
        with self._lock:
            round_ = self._rounds[response_id]
            round_.pending.discard(call_id)
            round_.answered += 1
            round_.ends_call = round_.ends_call or outcome.ends_call
        self._respond_if_ready(response_id)

    def _outcome(self, name: str, arguments: str) -> ToolOutcome:
        try:
            return self._run_tool(name, arguments)
        except Exception as error:  # the executor never raises; if it did, the model still gets an answer
            logger.error("tool runner failed", extra={"tool": name, "error_type": type(error).__name__})
            return _Failed()

    def _respond_if_ready(self, response_id: str) -> None:
        with self._lock:
            round_ = self._rounds.get(response_id)
            if round_ is None or not round_.done or round_.pending or round_.responded or not round_.answered:
                return
            round_.responded = True
            ends_call = round_.ends_call
        self._send({"type": "response.create"})
        if ends_call:
            self.goodbye_requested_at = self._clock()

    def is_goodbye(self, response_id: str) -> bool:
        """Whether a response.done is the goodbye that follows an end_call (not the round that asked)."""
        if self.goodbye_requested_at is None:
            return False
        with self._lock:
            return response_id not in self._rounds


@dataclass(frozen=True, slots=True)
class _Failed:
    output: str = "The tool failed. Tell the user it is not available right now."
    ok: bool = False
    ends_call: bool = False
