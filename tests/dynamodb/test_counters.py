"""The usage table's counters on moto's server, written as the new design writes them: the day items by
single conditional updates, the visitor's items by transactions. Caps stay exact under concurrency,
and a refusal by the day's counter gives the visitor's part back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from tests.all_at_once import all_at_once
from tests.dynamodb.quota import count
from vend.aws.call_ledger import CallLedger
from vend.aws.usage_table import UsageTable
from vend.usage import Budgets, CallRecord, Counter, CounterFull, SlotTaken

T = TypeVar("T")
DAY = "2026-12-07"
NOW = 1_796_558_400  # 2026-12-07 12:00 UTC
CAP = 600


def outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except CounterFull as full:
        return f"full{full.index}"
    except SlotTaken:
        return "slot"
    return "ok"


def mint(table: UsageTable, visitor: str, per_visitor: int, daily: int) -> Callable[[], object]:
    return lambda: table.increment(
        [Counter(visitor, per_visitor, NOW + 3600), Counter("day#d", daily, NOW + 3600)]
    )


def test_50_concurrent_mints_by_a_visitor_admit_exactly_its_quota(client: Any, table: str) -> None:
    usage = UsageTable(table, client)

    outcomes = all_at_once([lambda: outcome(mint(usage, "visitor#v#0", 10, 1000)) for _ in range(50)])

    assert outcomes.count("ok") == 10
    assert set(outcomes) == {"ok", "full0"}
    assert count(client, table, "visitor#v#0") == 10
    assert count(client, table, "day#d") == 10


def test_the_daily_cap_binds_exactly_and_a_refused_visitor_gets_its_count_back(
    client: Any, table: str
) -> None:
    usage = UsageTable(table, client)
    visitors = [f"visitor#v{n}#0" for n in range(3)]

    outcomes = all_at_once([lambda v=v: outcome(mint(usage, v, 10, 25)) for v in visitors for _ in range(20)])

    assert outcomes.count("ok") == 25
    assert count(client, table, "day#d") == 25
    assert sum(count(client, table, v) or 0 for v in visitors) == 25  # every refused mint gave back


def calls(ledger: CallLedger, visitors: int, per_visitor: int, budgets: Budgets) -> list[Callable[[], str]]:
    def start(visitor: str, slot: int, n: int) -> str:
        record = CallRecord(f"call_{visitor}_{n}", visitor, slot, DAY, NOW, NOW + CAP, CAP, "pending")
        return outcome(lambda: ledger.start(record, budgets, now=NOW))

    return [(lambda v=f"v{v}", n=n: start(v, n, n)) for v in range(visitors) for n in range(per_visitor)]


def test_the_stacks_call_seconds_bind_exactly_and_a_refused_start_leaves_the_visitor_whole(
    client: Any, table: str
) -> None:
    ledger = CallLedger(table, client)
    budgets = Budgets(visitor_seconds=2 * CAP, stack_seconds=5 * CAP)

    outcomes = all_at_once(calls(ledger, visitors=12, per_visitor=2, budgets=budgets))

    assert outcomes.count("ok") == 5
    assert set(outcomes) == {"ok", "full2"}
    assert count(client, table, f"callsec#day#{DAY}") == 5 * CAP
    charged = sum(count(client, table, f"callsec#v{v}#{DAY}") or 0 for v in range(12))
    assert charged == 5 * CAP  # the refused starts' visitor charges came back
    leases = client.scan(
        TableName=table,
        FilterExpression="begins_with(pk, :l)",
        ExpressionAttributeValues={":l": {"S": "lease#"}},
    )
    assert leases["Count"] == 5  # and their leases
    states = [ledger.get(f"call_v{v}_{n}") for v in range(12) for n in range(2)]
    assert sorted(record.state for record in states if record) == ["ended"] * 19 + ["pending"] * 5


def test_an_end_refunds_the_stack_once_however_often_it_is_asked(client: Any, table: str) -> None:
    ledger = CallLedger(table, client)
    budgets = Budgets(visitor_seconds=10 * CAP, stack_seconds=10 * CAP)
    record = CallRecord("call_x", "v1", 0, DAY, NOW, NOW + CAP, CAP, "pending")
    ledger.start(record, budgets, now=NOW)

    ended = all_at_once([lambda: ledger.end(record, refund_seconds=CAP - 100) for _ in range(10)])

    assert ended.count(True) == 1
    assert count(client, table, f"callsec#day#{DAY}") == 100
    assert count(client, table, f"callsec#v1#{DAY}") == 100


def test_a_stack_refund_never_takes_the_day_below_zero(client: Any, table: str) -> None:
    ledger = CallLedger(table, client)
    budgets = Budgets(visitor_seconds=10 * CAP, stack_seconds=10 * CAP)
    record = CallRecord("call_y", "v1", 0, DAY, NOW, NOW + CAP, CAP, "pending")
    ledger.start(record, budgets, now=NOW)
    client.put_item(TableName=table, Item={"pk": {"S": f"callsec#day#{DAY}"}, "count": {"N": "50"}})

    assert ledger.end(record, refund_seconds=CAP) is True

    assert count(client, table, f"callsec#day#{DAY}") == 50
