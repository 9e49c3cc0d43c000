"""The companion's small decisions, each on its own: the payload, the timer, the backoff, the
sideband's address, and how tool calls become exactly one answer and one response.create."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from vend.companion.event import CompanionEvent, parse_event
from vend.companion.finalise import Finaliser
from vend.companion.session import backoff_seconds
from vend.companion.sideband import sideband_url
from vend.companion.timer import Timer
from vend.companion.tool_answers import ToolAnswers
from vend.errors import ServerMisconfigured
from vend.secret_values import OpenAIApiKey
from vend.usage import CallRecord

CALL = "call_" + "ab" * 16
RECORD = CallRecord(CALL, "visitor", 0, "2026-12-07", 1000, 1600, 600, "live", "rtc_secret")


@pytest.mark.parametrize(
    ("event", "parsed"),
    [
        ({"call_id": CALL, "generation": 0}, CompanionEvent(CALL, 0)),
        ({"call_id": CALL, "generation": 3}, CompanionEvent(CALL, 3)),
        ({"call_id": CALL}, CompanionEvent(CALL, 0)),
        ({"call_id": "rtc_abc", "generation": 0}, None),
        ({"call_id": CALL, "generation": True}, None),
        ({"call_id": CALL, "generation": "1"}, None),
        ({"call_id": CALL, "generation": -1}, None),
        ([CALL], None),
    ],
)
def test_the_payload_names_our_call_and_a_generation(event: Any, parsed: CompanionEvent | None) -> None:
    assert parse_event(event) == parsed


def test_lambda_hands_over_a_minute_before_its_limit_and_leaves_a_second_before() -> None:
    timer = Timer.start(now=0.0, remaining_seconds=900.0, ends_at=10_000)
    assert (timer.handover_at, timer.exit_by) == (840.0, 899.0)
    assert timer.next_due(0.0, handing_over=False) == 840.0
    assert timer.next_due(850.0, handing_over=True) == 49.0


def test_an_emulated_deadline_of_a_few_seconds_still_leaves_the_successor_time() -> None:
    timer = Timer.start(now=0.0, remaining_seconds=3.0, ends_at=10_000)
    assert timer.handover_at == pytest.approx(2.0)
    assert timer.exit_by == pytest.approx(2.75)


def test_the_cap_comes_first_when_it_is_sooner() -> None:
    timer = Timer.start(now=100.0, remaining_seconds=900.0, ends_at=130)
    assert timer.next_due(100.0, handing_over=False) == 30.0


def test_reattaching_backs_off_exponentially_with_jitter_up_to_eight_seconds() -> None:
    assert [backoff_seconds(n, 0.999999) for n in range(1, 9)] == pytest.approx(
        [0.25, 0.5, 1, 2, 4, 8, 8, 8], abs=1e-5
    )
    assert backoff_seconds(1, 0.0) == 0.125
    assert backoff_seconds(7, 0.0) == 4.0


def test_the_sideband_address_follows_the_base_url() -> None:
    assert sideband_url("https://api.openai.com", "rtc_1") == "wss://api.openai.com/v1/realtime?call_id=rtc_1"
    assert sideband_url("http://127.0.0.1:8080", "rtc_1") == "ws://127.0.0.1:8080/v1/realtime?call_id=rtc_1"


# --- tool answers -------------------------------------------------------------------------------------


@dataclass
class Claims:
    """The companion items' claim: the first claimer of a function call wins."""

    taken: set[str] = field(default_factory=set)
    lose: bool = False

    def claim_tool_call(self, call_id: str, function_call_id: str, generation: int, *, ends_at: int) -> bool:
        if self.lose or function_call_id in self.taken:
            return False
        self.taken.add(function_call_id)
        return True

    def take_over(self, call_id: str, generation: int, *, now: int, ends_at: int) -> bool:
        raise NotImplementedError

    def generation(self, call_id: str) -> int | None:
        raise NotImplementedError

    def mark_finalised(self, call_id: str, reason: str, *, now: int, ends_at: int) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class Outcome:
    output: str
    ok: bool = True
    ends_call: bool = False


class Sent:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.changed = threading.Condition()

    def __call__(self, event: dict[str, Any]) -> None:
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    def wait_for(self, count: int) -> list[dict[str, Any]]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.events) >= count, timeout=5)
            return list(self.events)


def answers(sent: Sent, claims: Claims, runner: Any) -> ToolAnswers:
    return ToolAnswers(RECORD, 0, items=claims, run_tool=runner, send=sent)


def args_done(response_id: str, call_id: str, name: str = "get_current_time") -> dict[str, Any]:
    return {
        "type": "response.function_call_arguments.done",
        "response_id": response_id,
        "call_id": call_id,
        "name": name,
        "arguments": "{}",
    }


def response_done(response_id: str, *calls: str) -> dict[str, Any]:
    output = [
        {"type": "function_call", "call_id": c, "name": "get_current_time", "arguments": "{}"} for c in calls
    ]
    return {"type": "response.done", "response": {"id": response_id, "output": output}}


def test_two_calls_in_one_response_get_two_outputs_and_one_response_create() -> None:
    sent, claims = Sent(), Claims()
    tools = answers(sent, claims, lambda name, arguments: Outcome(f"ran {name}"))
    tools.arguments_done(args_done("resp_1", "fc_a"))
    tools.arguments_done(args_done("resp_1", "fc_b"))
    tools.wait(5)
    assert [e["type"] for e in sent.events] == ["conversation.item.create"] * 2  # not while the response runs

    tools.response_done(response_done("resp_1", "fc_a", "fc_b"))
    tools.response_done(response_done("resp_1", "fc_a", "fc_b"))  # seen again after a re-attach

    events = sent.wait_for(3)
    assert sorted(e["item"]["call_id"] for e in events[:2]) == ["fc_a", "fc_b"]
    assert events[2] == {"type": "response.create"}
    assert len(sent.events) == 3
    assert not tools.busy()


def test_a_call_seen_only_in_response_done_is_answered_too() -> None:
    sent = Sent()
    tools = answers(sent, Claims(), lambda name, arguments: Outcome("12:00"))
    tools.response_done(response_done("resp_1", "fc_late"))
    events = sent.wait_for(2)
    assert events == [
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "fc_late", "output": "12:00"},
        },
        {"type": "response.create"},
    ]


def test_a_call_another_generation_claimed_is_left_to_it() -> None:
    sent = Sent()
    ran: list[str] = []
    tools = answers(sent, Claims(lose=True), lambda name, arguments: ran.append(name) or Outcome("x"))
    tools.arguments_done(args_done("resp_1", "fc_a"))
    tools.response_done(response_done("resp_1", "fc_a"))
    time.sleep(0.05)
    assert ran == []
    assert sent.events == []


def test_a_runner_that_raises_still_gives_the_model_a_short_answer() -> None:
    def broken(name: str, arguments: str) -> Outcome:
        raise RuntimeError("Traceback: secret detail")

    sent = Sent()
    tools = answers(sent, Claims(), broken)
    tools.arguments_done(args_done("resp_1", "fc_a"))
    [event] = sent.wait_for(1)
    assert "Traceback" not in event["item"]["output"]
    assert "secret" not in event["item"]["output"]


def test_end_call_marks_the_next_response_as_the_goodbye() -> None:
    sent = Sent()
    tools = answers(sent, Claims(), lambda name, arguments: Outcome("Goodbye.", ends_call=True))
    tools.arguments_done(args_done("resp_1", "fc_bye", "end_call"))
    tools.response_done(response_done("resp_1", "fc_bye"))
    sent.wait_for(2)
    assert tools.goodbye_requested_at is not None
    assert not tools.is_goodbye("resp_1")
    assert tools.is_goodbye("resp_2")


# --- finalising -------------------------------------------------------------------------------------


@dataclass
class Ledger:
    ended: list[tuple[str, int]] = field(default_factory=list)

    def get(self, call_id: str) -> CallRecord | None:
        return RECORD

    def end(self, call: CallRecord, *, refund_seconds: int, free_lease: bool = True) -> bool:
        first = not self.ended
        self.ended.append((call.call_id, refund_seconds))
        return first


@dataclass
class Marker:
    reasons: list[str] = field(default_factory=list)

    def mark_finalised(self, call_id: str, reason: str, *, now: int, ends_at: int) -> bool:
        self.reasons.append(reason)
        return len(self.reasons) == 1


class Keys:
    def current(self) -> OpenAIApiKey:
        return OpenAIApiKey("sk-test-canary-AAAAAAAAAAAAAAAAAAAAAAAAAAAA")

    def refreshed(self) -> OpenAIApiKey:
        return self.current()


class OverHangups:
    """OpenAI answering /hangup of an ended call with 400 call_id_not_found."""

    def hangup(self, api_key: OpenAIApiKey, openai_call_id: str, *, deadline: float) -> bool:
        raise ServerMisconfigured("openai_rejected_config_400_call_id_not_found", upstream_status=400)


class Drops:
    def delete(self, call_id: str) -> bool:
        return False


def test_finalising_an_ended_call_again_is_harmless_and_refunds_what_is_left() -> None:
    ledger, marker = Ledger(), Marker()
    finaliser = Finaliser(
        calls=ledger,
        schedules=Drops(),
        hangups=OverHangups(),
        api_key=Keys(),
        items=marker,
        clock=lambda: 1_200.4,
    )
    assert finaliser.finalise(RECORD, "spend_cap", hang_up=True)  # a 400 from /hangup: already over
    assert not finaliser.finalise(RECORD, "cap", hang_up=True)
    assert ledger.ended == [(CALL, 399), (CALL, 399)]  # ends_at 1600 - now, whole seconds
    assert marker.reasons == ["spend_cap", "cap"]  # the marker keeps the first
