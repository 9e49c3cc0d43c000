"""The companion on a GPT-Live session, end to end in the test process: what a visitor and the
operator would notice of it.

A real WebSocket with GPT-Live's sideband semantics (tests/fakes/live_sideband.py; every event both
ways checked against openai.types.live), the real call record, companion items and spend ledger
(moto's DynamoDB), the real live price table, and fakes of the schedule and the tools only. The
companion is started as the vend function starts it (one async invocation, generation 0).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import boto3
import pytest

from tests.conftest import REQUIRED_ENV
from tests.fakes.live_sideband import (
    FakeLiveSideband,
    function_call_done,
    response_completed,
    transcript,
    usage_updated,
)
from tests.functional.companion_harness import Invocations, Schedules, Serialised, Tools
from tests.functional.conftest import KEY, create_quota_table
from vend.aws.call_ledger import CallLedger
from vend.aws.companion_ledger import CompanionLedger
from vend.aws.spend_ledger import SpendLedger
from vend.companion.session import Companion
from vend.companion.wiring import Parts
from vend.logic.spend_budget import SpendBudget
from vend.openai_api.live_close import close_live_session
from vend.secret_values import OpenAIApiKey
from vend.settings import load_settings
from vend.usage import Budgets, CallRecord

VISITOR = "visitor-companion-live-test"
TABLE = REQUIRED_ENV["QUOTA_TABLE_NAME"]


def voice_micro_usd(active: int, paused: int) -> int:
    """gpt-live-1.1: $0.05 a minute active, $0.02 paused, per second, rounded up once."""
    return -(-(active * 50_000 + paused * 20_000) // 60)


def luna_micro_usd(input_tokens: int, cached: int, output_tokens: int) -> int:
    """gpt-6-luna: $0.10 / $0.01 cached / $0.50 per 1M tokens, rounded up once."""
    return -(-((input_tokens - cached) * 100_000 + cached * 10_000 + output_tokens * 500_000) // 1_000_000)


class SessionHost(Protocol):
    """Where the sessions are: a base URL, and a way to open one that no page created."""

    @property
    def base_url(self) -> str: ...
    def open_session(self, session_id: str) -> None: ...


class LiveHangups:
    """What the vend function's LiveSessionsApi.hangup does first: close_live_session."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.calls: list[float] = []

    def hangup(self, api_key: OpenAIApiKey, openai_call_id: str, *, deadline: float) -> bool:
        self.calls.append(time.time())
        return close_live_session(self.base_url, api_key, openai_call_id, deadline=deadline)


@dataclass(frozen=True)
class StackKeys:
    key: str

    def current(self) -> OpenAIApiKey:
        return OpenAIApiKey(self.key)

    def refreshed(self) -> OpenAIApiKey:
        return OpenAIApiKey(self.key)


class LiveStack:
    """The companion's parts for GPT-Live: `sideband` is where its sessions live (the fake in this
    module, the local stand-in in test_companion_live_standin.py)."""

    def __init__(
        self,
        sideband: SessionHost,
        *,
        deadline_seconds: float = 600.0,
        visitor_budget_usd: str = "100",
        api_key: str = KEY,
    ) -> None:
        client = boto3.client("dynamodb")
        create_quota_table(client)
        serialised: Any = Serialised(client)
        self.sideband = sideband
        self.ledger = CallLedger(TABLE, serialised)
        self.items = CompanionLedger(TABLE, serialised)
        self.spend = SpendLedger(TABLE, serialised)
        self.hangups = LiveHangups(sideband.base_url)
        self.schedules = Schedules()
        self.tools = Tools()
        self.invocations = Invocations(self, deadline_seconds)  # type: ignore[arg-type]
        self.companions: list[Companion] = []
        settings = load_settings(
            {
                **REQUIRED_ENV,
                "OPENAI_API_KEY_SECRET_ARN": "realtime-vend/openai-api-key",
                "OPENAI_BASE_URL": sideband.base_url,
                "CALL_MODE": "relay",
                "VOICE_API": "live",
                "COMPANION_FUNCTION_NAME": "realtime-vend-CompanionFunction",
                "CALL_DOLLARS_PER_VISITOR_PER_DAY": visitor_budget_usd,
            }
        )
        budget = SpendBudget(
            visitor_micro_usd=settings.spend.visitor_micro_usd_per_day,
            stack_micro_usd=settings.spend.stack_micro_usd_per_day,
            ledger=self.spend,
        )

        def no_realtime_pricing() -> Any:
            raise AssertionError("a live companion prices nothing as Realtime")

        self.parts = Parts(
            settings=settings,
            api_key=StackKeys(api_key),
            calls=self.ledger,
            hangups=self.hangups,
            schedules=self.schedules,
            companions=self.invocations,
            items=self.items,
            pricing=no_realtime_pricing,
            spend=lambda: self.spend,
            budget=lambda: budget,
            tools=lambda: self.tools,
            live_spend=lambda: self.spend,
            observe=self.companions.append,
        )

    def live_call(self, seconds: int, session_id: str | None = None) -> tuple[CallRecord, str]:
        """A call as the vend function leaves it: charged, live, with GPT-Live's session id."""
        now = int(time.time())
        record = CallRecord(
            call_id=f"call_{secrets.token_hex(16)}",
            visitor=VISITOR,
            slot=0,
            day=dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat(),
            started_at=now,
            ends_at=now + seconds,
            charged_seconds=seconds,
            state="pending",
        )
        self.ledger.start(record, Budgets(100_000, 1_000_000), now=now)
        if session_id is None:
            session_id = f"live_{secrets.token_hex(12)}"
            self.sideband.open_session(session_id)
        self.ledger.mark_live(record.call_id, session_id)
        return record, session_id

    def metered(self, record: CallRecord) -> int:
        return self.spend.totals(visitor=record.visitor, day=record.day, call_id=record.call_id).call


@pytest.fixture
def sideband() -> Iterator[FakeLiveSideband]:
    server = FakeLiveSideband(KEY, reflect_audio=True)
    yield server
    server.close()
    assert server.invalid == []  # everything the companion sent is a valid GPT-Live client event


@pytest.fixture
def stack(aws: None, sideband: FakeLiveSideband) -> LiveStack:
    return LiveStack(sideband)


def types(received: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in received]


def test_meters_answers_a_backend_tool_and_closes_the_session_at_the_cap(
    stack: LiveStack, sideband: FakeLiveSideband, caplog: pytest.LogCaptureFixture
) -> None:
    record, live = stack.live_call(seconds=3)
    stack.invocations.start(record.call_id, 0)
    sideband.wait_for(lambda: sideband.attached(live) == 1)

    sideband.emit(live, usage_updated(15.0, active=15, paused=0))  # the 15 s billed at create
    sideband.emit(live, function_call_done("fc_time", "get_current_time", arguments='{"timezone": "UTC"}'))
    sideband.wait_for(lambda: "response.create" in types(sideband.received(live)))
    sideband.emit(
        live,
        response_completed("resp_1", model="gpt-6-luna", input_tokens=1_000, cached=200, output_tokens=300),
    )
    sideband.set_usage(live, {"seconds": 30.0, "active_seconds": 20, "paused_seconds": 10})
    stack.invocations.wait(timeout=8)

    assert stack.invocations.errors == []
    assert stack.invocations.outcomes == {0: "finalised_cap"}
    received = sideband.received(live)
    assert types(received) == ["response.item.create", "response.create", "session.close"]
    assert received[0]["item"] == {
        "type": "function_call_output",
        "call_id": "fc_time",
        "output": "It is 12:00 in UTC.",
    }
    # The exact end: session.close at Call-Ends-At, confirmed by session.closed, never before.
    closed_at = sideband.closed_at(live)
    assert closed_at is not None
    assert record.ends_at <= closed_at < record.ends_at + 1
    assert sideband.reason(live) == "close_requested"
    assert stack.items.finalised_reason(record.call_id) == "cap"  # our reason, not the one we caused
    # Metered exactly: the final usage (session.closed) in full, and the backend's turn once.
    assert stack.metered(record) == voice_micro_usd(20, 10) + luna_micro_usd(1_000, 200, 300)
    ended = stack.ledger.get(record.call_id)
    assert ended is not None
    assert ended.state == "ended"
    assert stack.schedules.deleted == [record.call_id]
    assert stack.hangups.calls == []  # closed on its own sideband: no second attach needed
    logged = repr([(r.getMessage(), r.__dict__) for r in caplog.records])
    assert "call finalised" in logged
    for secret in (live, "12:00", "timezone", KEY, "input_audio", "output_audio", "AAAAAAAA"):
        assert secret not in logged


def test_a_session_gpt_live_ended_is_finalised_with_its_reason_and_final_usage(
    stack: LiveStack, sideband: FakeLiveSideband
) -> None:
    record, live = stack.live_call(seconds=30)
    stack.invocations.start(record.call_id, 0)
    sideband.wait_for(lambda: sideband.attached(live) == 1)
    sideband.emit(live, usage_updated(60.0, active=60, paused=0))
    sideband.wait_for(lambda: stack.metered(record) == voice_micro_usd(60, 0))

    sideband.drop(live)  # a broken sideband: re-attached, nothing lost after
    sideband.wait_for(lambda: sideband.attaches(live) == 2 and sideband.attached(live) == 1)
    sideband.emit(live, usage_updated(120.0, active=90, paused=30))
    sideband.set_usage(live, {"seconds": 125.0, "active_seconds": 95, "paused_seconds": 30})
    assert sideband.end(live, "expired")
    stack.invocations.wait(timeout=5)

    assert stack.invocations.errors == []
    assert stack.invocations.outcomes == {0: "finalised_expired"}
    assert stack.items.finalised_reason(record.call_id) == "expired"
    assert stack.metered(record) == voice_micro_usd(95, 30)
    assert "session.close" not in types(sideband.received(live))  # over already: nothing to close
    assert stack.hangups.calls == []


def test_end_call_closes_the_session_once_the_goodbye_was_said(
    stack: LiveStack, sideband: FakeLiveSideband
) -> None:
    record, live = stack.live_call(seconds=30)
    stack.invocations.start(record.call_id, 0)
    sideband.wait_for(lambda: sideband.attached(live) == 1)

    sideband.emit(live, function_call_done("fc_bye", "end_call"))
    sideband.wait_for(lambda: "response.create" in types(sideband.received(live)))
    for n, words in enumerate(("Thanks ", "for calling, ", "goodbye.")):
        time.sleep(0.3)
        assert sideband.closed_at(live) is None  # not while the assistant says goodbye
        sideband.emit(live, transcript(words, 1_000 + 400 * n))
    said = time.time()
    stack.invocations.wait(timeout=6)

    assert stack.invocations.outcomes == {0: "finalised_assistant"}
    assert types(sideband.received(live)) == ["response.item.create", "response.create", "session.close"]
    closed_at = sideband.closed_at(live)
    assert closed_at is not None
    assert said + 1.9 <= closed_at < said + 4  # two seconds of the assistant's silence after it spoke
    assert stack.items.finalised_reason(record.call_id) == "assistant"


def test_reaching_the_spend_budget_closes_the_session_mid_call(aws: None, sideband: FakeLiveSideband) -> None:
    stack = LiveStack(sideband, visitor_budget_usd="0.05")  # a minute of active voice
    record, live = stack.live_call(seconds=600)
    stack.invocations.start(record.call_id, 0)
    sideband.wait_for(lambda: sideband.attached(live) == 1)

    sideband.emit(live, usage_updated(30.0, active=30, paused=0))
    time.sleep(0.2)
    assert sideband.closed_at(live) is None
    sideband.emit(live, usage_updated(61.0, active=61, paused=0))
    stack.invocations.wait(timeout=5)

    assert stack.invocations.outcomes == {0: "finalised_spend_cap"}
    assert sideband.reason(live) == "close_requested"
    assert stack.items.finalised_reason(record.call_id) == "spend_cap"
    assert stack.metered(record) == voice_micro_usd(61, 0)


def test_hand_over_across_generations_meters_each_second_and_answers_each_call_once(
    aws: None, sideband: FakeLiveSideband
) -> None:
    stack = LiveStack(sideband, deadline_seconds=3.6)
    stack.tools.seconds = 0.05
    record, live = stack.live_call(seconds=11)
    stack.invocations.start(record.call_id, 0)
    sideband.wait_for(lambda: sideband.attached(live) >= 1)

    tool_calls: list[str] = []
    responses: list[tuple[int, int, int]] = []
    n = 0
    while time.time() < record.ends_at - 0.5:
        n += 1
        assert sideband.emit(live, usage_updated(float(15 + n), active=15 + n - n // 4, paused=n // 4)) >= 1
        if n % 4 == 0:
            tool_calls.append(f"fc_{n}")
            assert sideband.emit(live, function_call_done(f"fc_{n}", "get_current_time")) >= 1
            # Answered before the next: one asked too close to the cap is cut off by the close (rightly).
            sideband.wait_for(
                lambda n=n: any(
                    e.get("item", {}).get("call_id") == f"fc_{n}" for e in sideband.received(live)
                )
            )
        if n % 5 == 0:
            responses.append((100 * n, 10 * n, n))
            assert (
                sideband.emit(
                    live,
                    response_completed(
                        f"resp_{n}", model="gpt-6-luna", input_tokens=100 * n, cached=10 * n, output_tokens=n
                    ),
                )
                >= 1
            )
        time.sleep(0.1)
    stack.invocations.wait(timeout=10)

    assert stack.invocations.errors == []
    generations = sorted(stack.invocations.outcomes)
    assert len(generations) >= 3, stack.invocations.outcomes  # at least two hand-overs
    assert all(stack.invocations.outcomes[g] == "handed_over" for g in generations[:-1])
    assert stack.invocations.outcomes[generations[-1]] == "finalised_cap"
    # The voice: the last snapshot's cost exactly (each second once across overlapping generations);
    # the backend: each turn once.
    voice = voice_micro_usd(15 + n - n // 4, n // 4)
    assert stack.metered(record) == voice + sum(luna_micro_usd(*r) for r in responses)
    received = sideband.received(live)
    for call_id in tool_calls:
        assert (
            sum(e["type"] == "response.item.create" and e["item"]["call_id"] == call_id for e in received)
            == 1
        )
    assert len(stack.tools.runs) == len(tool_calls)
    assert types(received).count("response.create") == len(tool_calls)
    closed_at = sideband.closed_at(live)
    assert closed_at is not None
    assert record.ends_at <= closed_at < record.ends_at + 1


def test_at_the_cap_a_detached_companion_closes_on_a_brief_sideband_and_meters_the_final_usage(
    stack: LiveStack, sideband: FakeLiveSideband
) -> None:
    record, live = stack.live_call(seconds=2)
    sideband.set_usage(live, {"seconds": 17.0, "active_seconds": 17, "paused_seconds": 0})
    sideband.refuse_until = record.ends_at  # every attach fails until the cap

    stack.invocations.start(record.call_id, 0)
    stack.invocations.wait(timeout=8)

    assert stack.invocations.errors == []
    assert stack.invocations.outcomes == {0: "finalised_cap"}
    assert sideband.refused and set(sideband.refused) == {503}
    assert stack.companions[0].attaches == 0  # detached at the cap
    assert sideband.attaches(live) == 1  # the brief sideband of the close
    assert types(sideband.received(live)) == ["session.close"]
    closed_at = sideband.closed_at(live)
    assert closed_at is not None
    assert record.ends_at <= closed_at < record.ends_at + 1
    assert stack.metered(record) == voice_micro_usd(17, 0)
    assert stack.items.finalised_reason(record.call_id) == "cap"


def test_close_live_session_closes_a_live_session_and_says_when_it_was_over(
    sideband: FakeLiveSideband,
) -> None:
    live = f"live_{secrets.token_hex(12)}"
    sideband.open_session(live)

    assert close_live_session(sideband.base_url, OpenAIApiKey(KEY), live, deadline=time.monotonic() + 5)
    assert sideband.reason(live) == "close_requested"
    assert not close_live_session(sideband.base_url, OpenAIApiKey(KEY), live, deadline=time.monotonic() + 5)
    assert not close_live_session(
        sideband.base_url, OpenAIApiKey(KEY), "live_unknown", deadline=time.monotonic() + 5
    )
