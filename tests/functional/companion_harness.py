"""The companion as Lambda runs it, in the test process: real WebSockets (tests/fakes/realtime_sideband),
the real call record and companion items in (moto's) DynamoDB, and fakes of its other collaborators
only: OpenAI's hangup (which the fake sideband carries out), the schedule, the prices, the spend items,
the budget and the tools. The async invoker is a thread per invocation with an emulated deadline.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from tests.conftest import REQUIRED_ENV
from tests.fakes.realtime_sideband import FakeSideband
from tests.functional.conftest import KEY, create_quota_table
from vend.aws.call_ledger import CallLedger
from vend.aws.companion_ledger import CompanionLedger
from vend.companion.event import CompanionEvent
from vend.companion.session import Companion
from vend.companion.wiring import Parts, serve
from vend.errors import QuotaUnavailable
from vend.secret_values import OpenAIApiKey
from vend.settings import load_settings
from vend.usage import Budgets, CallRecord

VISITOR = "visitor-companion-test"


class Serialised:
    """A boto3 client whose calls run one at a time: DynamoDB applies each conditional write
    atomically, moto under threads does not (tests/functional/conftest.py), and two generations of a
    companion claim the same tool call at the same moment on purpose."""

    _lock = threading.Lock()

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return call


class Keys:
    def current(self) -> OpenAIApiKey:
        return OpenAIApiKey(KEY)

    def refreshed(self) -> OpenAIApiKey:
        return OpenAIApiKey(KEY)


@dataclass
class Hangups:
    sideband: FakeSideband
    calls: list[float] = field(default_factory=list)

    def hangup(self, api_key: OpenAIApiKey, openai_call_id: str, *, deadline: float) -> bool:
        assert api_key.reveal() == KEY
        self.calls.append(time.time())
        return self.sideband.hang_up(openai_call_id)


@dataclass
class Schedules:
    deleted: list[str] = field(default_factory=list)

    def delete(self, call_id: str) -> bool:
        self.deleted.append(call_id)
        return True


class Pricing:
    """A micro-dollar per token: the arithmetic is vend.metering's; here only the flow is tested."""

    def response(self, usage: Mapping[str, Any]) -> int:
        return int(usage["total_tokens"])

    def transcription(self, usage: Mapping[str, Any]) -> int:
        return int(usage["total_tokens"])


@dataclass
class Spend:
    """Idempotent by event key, as vend.aws.spend_ledger is."""

    recorded: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    failing: set[str] = field(default_factory=set)  # event keys whose write fails (a throttled table)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(
        self, *, call_id: str, visitor: str, day: str, model: str, event_key: str, micro_usd: int
    ) -> object | None:
        if event_key in self.failing:
            raise QuotaUnavailable("dynamodb_ProvisionedThroughputExceededException")
        with self._lock:
            if event_key in self.recorded:
                self.duplicates += 1
                return None
            self.recorded[event_key] = micro_usd
            return {"visitor": sum(self.recorded.values())}


@dataclass
class Budget:
    visitor_micro_usd: int

    def exceeded(self, totals: Any) -> str | None:
        return "visitor" if totals["visitor"] >= self.visitor_micro_usd else None


@dataclass(frozen=True)
class Outcome:
    output: str
    ok: bool
    ends_call: bool


@dataclass
class Tools:
    runs: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def __call__(self, name: str, arguments_json: str) -> Outcome:
        self.runs.append(name)
        time.sleep(self.seconds)
        if name == "end_call":
            return Outcome("The call will end after your goodbye.", True, True)
        return Outcome("It is 12:00 in UTC.", True, False)


@dataclass
class Invocations:
    """The async invoker: each start() is an invocation in a thread of its own, with a deadline."""

    stack: Stack
    deadline_seconds: float
    outcomes: dict[int, str] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, call_id: str, generation: int = 0) -> None:
        thread = threading.Thread(target=self._run, args=(call_id, generation), daemon=True)
        self.threads.append(thread)
        thread.start()

    def _run(self, call_id: str, generation: int) -> None:
        try:
            self.outcomes[generation] = serve(
                self.stack.parts, CompanionEvent(call_id, generation), remaining_seconds=self.deadline_seconds
            )
        except BaseException as error:
            self.errors.append(error)

    def wait(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while any(t.is_alive() for t in self.threads) and time.monotonic() < end:
            for thread in list(self.threads):
                thread.join(max(0.0, end - time.monotonic()))


class Stack:
    def __init__(
        self,
        sideband: FakeSideband,
        *,
        deadline_seconds: float = 600.0,
        budget: int = 10**9,
        base_url: str | None = None,  # where the companion attaches, if not the fake sideband
        voice_api: str = "realtime",  # the stack's VOICE_API (its calls may predate a switch)
    ) -> None:
        client = boto3.client("dynamodb")
        create_quota_table(client)
        self.sideband = sideband
        self.ledger = CallLedger(REQUIRED_ENV["QUOTA_TABLE_NAME"], Serialised(client))  # type: ignore[arg-type]
        self.items = CompanionLedger(REQUIRED_ENV["QUOTA_TABLE_NAME"], Serialised(client))  # type: ignore[arg-type]
        self.hangups = Hangups(sideband)
        self.schedules = Schedules()
        self.spend = Spend()
        self.tools = Tools()
        self.invocations = Invocations(self, deadline_seconds)
        self.companions: list[Companion] = []
        settings = load_settings(
            {
                **REQUIRED_ENV,
                "OPENAI_API_KEY_SECRET_ARN": "realtime-vend/openai-api-key",
                "OPENAI_BASE_URL": base_url or sideband.base_url,
                "CALL_MODE": "relay",
                "COMPANION_FUNCTION_NAME": "realtime-vend-CompanionFunction",
                "VOICE_API": voice_api,
            }
        )
        pricing, budget_ = Pricing(), Budget(budget)
        self.parts = Parts(
            settings=settings,
            api_key=Keys(),
            calls=self.ledger,
            hangups=self.hangups,
            schedules=self.schedules,
            companions=self.invocations,
            items=self.items,
            pricing=lambda: pricing,
            spend=lambda: self.spend,
            budget=lambda: budget_,
            tools=lambda: self.tools,
            observe=self.companions.append,
        )

    def live_call(self, seconds: int) -> tuple[CallRecord, str]:
        """A call as the vend function leaves it: charged, live, with OpenAI's id in its record."""
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
        openai_call_id = f"rtc_{secrets.token_hex(12)}"
        self.ledger.mark_live(record.call_id, openai_call_id)
        self.sideband.open_call(openai_call_id)
        return record, openai_call_id


def response_done(
    response_id: str, tokens: int, *, function_calls: tuple[tuple[str, str], ...] = ()
) -> dict[str, Any]:
    output = [
        {
            "type": "function_call",
            "id": f"item_{cid}",
            "call_id": cid,
            "name": name,
            "arguments": "{}",
            "status": "completed",
        }
        for cid, name in function_calls
    ]
    return {
        "type": "response.done",
        "event_id": f"event_{secrets.token_hex(6)}",
        "response": {
            "object": "realtime.response",
            "id": response_id,
            "status": "completed",
            "output": output,
            "usage": {
                "total_tokens": tokens,
                "input_tokens": tokens // 2,
                "output_tokens": tokens - tokens // 2,
            },
        },
    }


def arguments_done(response_id: str, call_id: str, name: str) -> dict[str, Any]:
    return {
        "type": "response.function_call_arguments.done",
        "event_id": f"event_{secrets.token_hex(6)}",
        "response_id": response_id,
        "item_id": f"item_{call_id}",
        "output_index": 0,
        "call_id": call_id,
        "name": name,
        "arguments": '{"timezone": "UTC"}',
    }


def outputs_for(received: list[dict[str, Any]], call_id: str) -> list[dict[str, Any]]:
    return [
        e
        for e in received
        if e.get("type") == "conversation.item.create" and e["item"].get("call_id") == call_id
    ]
