"""GPT-Live's backend function calls in tool_answers.py: answered with response.item.create, then
response.create at once (the backend waits for the output before it completes), claimed once, and a
claim that failed tried again (no later event lists the call again)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from vend.companion.tool_answers import ToolAnswers, live_answer
from vend.errors import QuotaUnavailable
from vend.usage import CallRecord

CALL = "call_" + "ab" * 16
RECORD = CallRecord(CALL, "visitor", 0, "2026-12-07", 1000, 1600, 600, "live", "live_secret")


@dataclass(frozen=True)
class Outcome:
    output: str
    ok: bool = True
    ends_call: bool = False


@dataclass
class Items:
    failures: int = 0  # claims that raise first (a throttled table)
    claimed: set[str] = field(default_factory=set)
    attempts: int = 0

    def claim_tool_call(self, call_id: str, function_call_id: str, generation: int, *, ends_at: int) -> bool:
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise QuotaUnavailable("dynamodb_ProvisionedThroughputExceededException")
        if function_call_id in self.claimed:
            return False
        self.claimed.add(function_call_id)
        return True


class Sent:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.events.append(event)


def answers(items: Items, sent: Sent, runs: list[str], sleeps: list[float]) -> ToolAnswers:
    def run_tool(name: str, arguments_json: str) -> Outcome:
        runs.append(name)
        return Outcome(f"{name} done")

    return ToolAnswers(
        RECORD,
        0,
        items=items,  # type: ignore[arg-type]
        run_tool=run_tool,
        send=sent,
        answer=live_answer,
        sleep=sleeps.append,
    )


def call_item(call_id: str, name: str = "get_current_time") -> dict[str, Any]:
    return {
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": "{}",
        "status": "completed",
    }


def test_a_backend_call_is_answered_then_the_backend_asked_to_go_on() -> None:
    items, sent = Items(), Sent()
    runs: list[str] = []
    sleeps: list[float] = []
    tools = answers(items, sent, runs, sleeps)

    tools.item_done("dlg_1", call_item("fc_1"))
    tools.wait(2)
    tools.item_done("dlg_1", {"type": "message", "role": "assistant", "content": []})  # not a call
    tools.item_done("dlg_1", call_item("fc_1"))  # the same call seen again (a re-attach's replay)
    tools.wait(2)

    assert runs == ["get_current_time"]
    assert sent.events == [
        {
            "type": "response.item.create",
            "item": {"type": "function_call_output", "call_id": "fc_1", "output": "get_current_time done"},
        },
        {"type": "response.create"},
    ]
    assert not tools.busy()


def test_a_later_call_of_the_same_delegation_gets_its_own_response_create() -> None:
    items, sent = Items(), Sent()
    runs: list[str] = []
    sleeps: list[float] = []
    tools = answers(items, sent, runs, sleeps)

    tools.item_done("dlg_1", call_item("fc_1"))
    tools.wait(2)
    tools.item_done("dlg_1", call_item("fc_2"))
    tools.wait(2)

    assert [e["type"] for e in sent.events] == ["response.item.create", "response.create"] * 2


def test_a_call_another_generation_claimed_is_left_to_it() -> None:
    items, sent = Items(claimed={"fc_1"}), Sent()
    runs: list[str] = []
    sleeps: list[float] = []
    tools = answers(items, sent, runs, sleeps)

    tools.item_done("dlg_1", call_item("fc_1"))
    tools.wait(2)

    assert (runs, sent.events, items.attempts) == ([], [], 1)


def test_a_claim_that_failed_is_tried_again_briefly() -> None:
    items, sent = Items(failures=2), Sent()
    runs: list[str] = []
    sleeps: list[float] = []
    tools = answers(items, sent, runs, sleeps)

    tools.item_done("dlg_1", call_item("fc_1"))
    tools.wait(2)

    assert items.attempts == 3
    assert sleeps == [0.1, 0.2]
    assert runs == ["get_current_time"]
    assert [e["type"] for e in sent.events] == ["response.item.create", "response.create"]


def test_a_claim_that_keeps_failing_gives_up_after_three_attempts() -> None:
    items, sent = Items(failures=5), Sent()
    runs: list[str] = []
    sleeps: list[float] = []
    tools = answers(items, sent, runs, sleeps)

    tools.item_done("dlg_1", call_item("fc_1"))

    assert (items.attempts, runs, sent.events) == (3, [], [])
