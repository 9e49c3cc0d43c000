"""bench/scale's DynamoDB model answers the usage table's own requests as moto's server does.

The bench's verdicts rest on the model evaluating every condition and update the counters send as
DynamoDB would; the same sequence of real UsageTable, CallLedger and SpendLedger calls runs against
both, and the tables and every outcome must come out identical. Then the one thing moto cannot show:
two transactions overlapping on an item, and a single write meeting a transaction, are cancelled."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bench.scale.model import ModelDynamoDB, Timing
from local.dynamodb import client as dynamodb_client
from local.moto_server import MotoServer
from vend.aws.call_ledger import CallLedger
from vend.aws.spend_ledger import SpendLedger
from vend.aws.usage_table import UsageTable
from vend.usage import Budgets, CallRecord, Counter, CounterFull, SlotTaken

DAY = "2026-12-07"
NOW = 1_796_558_400
INSTANT = Timing(transaction_hold=(0, 0), single_hold=(0, 0), network=(0, 0))


def script(client: Any, table: str) -> list[str]:
    """Every kind of write the counters make, including refusals; the outcomes in order."""
    usage, ledger = UsageTable(table, client), CallLedger(table, client)
    spend = SpendLedger(table, client, shards=3, draw=lambda n: 1)
    outcomes: list[str] = []

    def attempt(name: str, action: Any) -> None:
        try:
            result = action()
        except (CounterFull, SlotTaken) as refused:
            outcomes.append(f"{name}: {type(refused).__name__} {getattr(refused, 'index', '')}")
        else:
            outcomes.append(f"{name}: {result}")

    counters = [Counter("visitor#v#0", 2, NOW + 600), Counter("day#d", 3, NOW + 86_400)]
    for n in range(4):
        attempt(f"mint {n}", lambda: usage.increment(counters))
    attempt("mint other", lambda: usage.increment([Counter("visitor#w#0", 2, NOW), counters[1]]))
    attempt("mint day full", lambda: usage.increment([Counter("visitor#x#0", 2, NOW), counters[1]]))
    attempt("give back", lambda: usage.decrement(counters))
    budgets = Budgets(visitor_seconds=600, stack_seconds=1500)
    calls = [
        CallRecord("call_0", "v0", 0, DAY, NOW, NOW + 600, 600, "pending"),
        CallRecord("call_1", "v1", 0, DAY, NOW, NOW + 600, 600, "pending"),
        CallRecord("call_2", "v0", 0, DAY, NOW, NOW + 600, 600, "pending"),  # slot taken
        CallRecord("call_3", "v1", 1, DAY, NOW, NOW + 600, 600, "pending"),  # visitor's seconds
        CallRecord("call_4", "v2", 0, DAY, NOW, NOW + 600, 600, "pending"),  # stack's seconds
    ]
    for call in calls:
        attempt(f"start {call.call_id}", lambda call=call: ledger.start(call, budgets, now=NOW))
    attempt("live", lambda: ledger.mark_live("call_0", "rtc_0"))
    attempt("end", lambda: ledger.end(calls[0], refund_seconds=500))
    attempt("end again", lambda: ledger.end(calls[0], refund_seconds=500))
    attempt("get", lambda: ledger.get("call_0"))
    for key, micro in (("resp_1", 10), ("resp_2", 20), ("resp_1", 10)):
        attempt(
            f"record {key}",
            lambda k=key, m=micro: spend.record(
                call_id="call_1", visitor="v1", day=DAY, model="m", event_key=k, micro_usd=m
            ),
        )
    attempt("totals", lambda: spend.totals(visitor="v1", day=DAY, call_id="call_1"))
    return outcomes


def test_the_model_and_moto_agree_on_every_write_the_counters_make(moto: MotoServer, table: str) -> None:
    server = dynamodb_client(moto.endpoint)
    model = ModelDynamoDB(INSTANT)

    assert script(model, "usage") == script(server, table)

    items = server.scan(TableName=table, ConsistentRead=True)["Items"]
    assert {item["pk"]["S"]: item for item in items} == model.items


def overlapping(model: ModelDynamoDB, first: Any, second: Any) -> str:
    """Starts `first`, then `second` while the first holds its items; the second's error code."""
    thread = threading.Thread(target=first)
    thread.start()
    time.sleep(0.05)
    try:
        second()
    except ClientError as error:
        return error.response["Error"]["Code"] + str(
            [reason["Code"] for reason in error.response.get("CancellationReasons", [])]  # type: ignore[typeddict-item]
        )
    finally:
        thread.join()
    return "ok"


def add(key: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": "t",
            "Key": {"pk": {"S": key}},
            "UpdateExpression": "ADD #count :one",
            "ExpressionAttributeNames": {"#count": "count"},
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


@pytest.mark.parametrize("first_is_a_transaction", [True, False])
def test_a_transaction_overlapping_a_write_on_the_same_item_is_cancelled(
    first_is_a_transaction: bool,
) -> None:
    model = ModelDynamoDB(Timing(transaction_hold=(0.2, 0.2), single_hold=(0.2, 0.2), network=(0, 0)))
    hold = (
        (lambda: model.transact_write_items(TransactItems=[add("day#d")]))
        if first_is_a_transaction
        else (lambda: model.update_item(**add("day#d")["Update"]))
    )

    code = overlapping(
        model, hold, lambda: model.transact_write_items(TransactItems=[add("a"), add("day#d")])
    )

    assert code == "TransactionCanceledException['None', 'TransactionConflict']"
    assert model.items["day#d"]["count"] == {"N": "1"}
    assert "a" not in model.items


def test_a_single_write_meeting_a_transaction_fails_and_two_single_writes_queue() -> None:
    model = ModelDynamoDB(Timing(transaction_hold=(0.2, 0.2), single_hold=(0.2, 0.2), network=(0, 0)))

    code = overlapping(
        model,
        lambda: model.transact_write_items(TransactItems=[add("day#d")]),
        lambda: model.update_item(**add("day#d")["Update"]),
    )
    assert code == "TransactionConflictException[]"

    code = overlapping(
        model,
        lambda: model.update_item(**add("day#d")["Update"]),
        lambda: model.update_item(**add("day#d")["Update"]),
    )
    assert code == "ok"
    assert model.items["day#d"]["count"] == {"N": "3"}
