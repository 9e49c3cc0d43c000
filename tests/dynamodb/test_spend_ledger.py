"""The spend ledger on moto's server: every event counted once, across retries, two companions and many
calls at once; the budget's admission check reads what it wrote."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import pytest

from tests.all_at_once import all_at_once
from vend.aws.spend_ledger import SpendLedger, SpendTotals
from vend.errors import SpendCapReached
from vend.logic.spend_budget import SpendBudget

T = TypeVar("T")
DAY = "2026-12-07"
NOON = int(dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC).timestamp())


def record(ledger: SpendLedger, call: str, event: str, micro: int, visitor: str = "v1") -> SpendTotals | None:
    return ledger.record(
        call_id=call, visitor=visitor, day=DAY, model="gpt-realtime-2.1", event_key=event, micro_usd=micro
    )


def test_an_event_adds_to_the_call_the_visitors_day_and_the_stacks_day(client: Any, table: str) -> None:
    ledger = SpendLedger(table, client, shards=4)

    assert record(ledger, "call_a", "resp_1", 1500) == SpendTotals(
        call=1500, visitor_day=1500, stack_day=1500
    )
    assert record(ledger, "call_a", "resp_2", 500) == SpendTotals(call=2000, visitor_day=2000, stack_day=2000)
    assert record(ledger, "call_b", "item_1", 7, visitor="v2") == SpendTotals(
        call=7, visitor_day=7, stack_day=2007
    )
    assert ledger.totals(visitor="v1", day=DAY) == SpendTotals(call=0, visitor_day=2000, stack_day=2007)
    assert ledger.totals(visitor="v1", day="2026-12-08") == SpendTotals(0, 0, 0)
    item = client.get_item(TableName=table, Key={"pk": {"S": "spend#call#call_a"}})["Item"]
    assert item["visitor"] == {"S": "v1"}
    assert item["day"] == {"S": DAY}
    assert int(item["expires_at"]["N"]) == NOON + 12 * 3600 + 86_400


def test_the_same_event_twice_is_counted_once(client: Any, table: str) -> None:
    ledger = SpendLedger(table, client, shards=4)
    assert record(ledger, "call_a", "resp_1", 1500) is not None

    assert record(ledger, "call_a", "resp_1", 1500) is None
    assert record(ledger, "call_b", "resp_1", 10) is not None  # the key is per call
    assert ledger.totals(visitor="v1", day=DAY, call_id="call_a") == SpendTotals(1500, 1510, 1510)


def test_two_companions_recording_the_same_events_at_once_count_each_once(client: Any, table: str) -> None:
    first, second = SpendLedger(table, client, shards=8), SpendLedger(table, client, shards=8)
    events = [(f"resp_{n}", 100 + n) for n in range(20)]

    outcomes = all_at_once(
        [
            lambda ledger=ledger, e=e, m=m: record(ledger, "call_a", e, m)
            for ledger in (first, second)
            for e, m in events
        ]
    )

    assert sum(outcome is not None for outcome in outcomes) == len(events)
    expected = sum(m for _, m in events)
    assert first.totals(visitor="v1", day=DAY, call_id="call_a") == SpendTotals(expected, expected, expected)


def test_many_calls_metering_at_once_lose_no_count(client: Any, table: str) -> None:
    ledger = SpendLedger(table, client, shards=2)  # few shards: the transactions meet often
    calls = [
        (lambda n=n: record(ledger, f"call_{n % 10}", f"resp_{n}", 1000 + n, visitor=f"v{n % 5}"))
        for n in range(60)
    ]

    outcomes = all_at_once(calls)

    assert all(outcome is not None for outcome in outcomes)
    total = sum(1000 + n for n in range(60))
    assert ledger.totals(visitor="v0", day=DAY).stack_day == total
    assert sum(ledger.totals(visitor=f"v{v}", day=DAY).visitor_day for v in range(5)) == total
    assert sum(ledger.totals(visitor="v0", day=DAY, call_id=f"call_{c}").call for c in range(10)) == total


def test_a_shard_count_that_one_read_cannot_sum_is_refused(table: str, client: Any) -> None:
    with pytest.raises(ValueError, match="shards"):
        SpendLedger(table, client, shards=99)
    with pytest.raises(ValueError, match="negative"):
        record(SpendLedger(table, client), "call_a", "resp_1", -1)


def test_the_budget_refuses_once_the_visitors_or_the_stacks_day_reached_it(client: Any, table: str) -> None:
    ledger = SpendLedger(table, client, shards=4)
    budget = SpendBudget(visitor_micro_usd=2_000_000, stack_micro_usd=3_000_000, ledger=ledger)
    budget.require_room("v1", now=NOON)
    record(ledger, "call_a", "resp_1", 1_999_999)
    budget.require_room("v1", now=NOON)

    record(ledger, "call_a", "resp_2", 1)

    with pytest.raises(SpendCapReached) as visitor:
        budget.require_room("v1", now=NOON)
    assert (visitor.value.who, visitor.value.retry_after_seconds) == ("visitor", 12 * 3600)
    assert visitor.value.headers() == {"Retry-After": "43200"}
    assert "00:00 UTC, in 12 hours" in visitor.value.public_message
    budget.require_room("v2", now=NOON)
    record(ledger, "call_b", "resp_1", 1_000_000, visitor="v2")
    with pytest.raises(SpendCapReached) as stack:
        budget.require_room("v3", now=NOON + 1)
    assert (stack.value.status, stack.value.code, stack.value.who) == (429, "spend_cap_reached", "stack")
    assert stack.value.retry_after_seconds == 12 * 3600 - 1
    budget.require_room("v3", now=NOON + 12 * 3600)  # a new UTC day
