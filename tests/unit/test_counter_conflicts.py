"""What moto cannot show: writes that DynamoDB cancels for a conflict are retried, and nothing is lost.
Against bench/scale's model of item locks (checked against moto in tests/dynamodb/test_scale_model.py)."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest
from botocore.exceptions import ClientError

from bench.scale.model import ModelDynamoDB, Timing
from tests.all_at_once import all_at_once
from vend.aws.spend_ledger import SpendLedger
from vend.aws.usage_table import UsageTable
from vend.errors import QuotaUnavailable
from vend.usage import Counter

T = TypeVar("T")
SHORT = Timing(transaction_hold=(0.004, 0.008), single_hold=(0.0005, 0.001), network=(0, 0.001))


def test_40_events_on_one_stack_item_conflict_and_every_one_is_still_counted_once() -> None:
    model = ModelDynamoDB(SHORT, seed=3)
    ledger = SpendLedger("usage", model, shards=1)  # type: ignore[arg-type]

    outcomes = all_at_once(
        [
            lambda n=n: ledger.record(
                call_id=f"call_{n % 8}",
                visitor="v",
                day="2026-12-07",
                model="m",
                event_key=f"e{n}",
                micro_usd=n,
            )
            for n in range(40)
        ]
    )

    assert all(outcome is not None for outcome in outcomes)
    assert model.stats.cancelled["TransactWriteItems"] > 0  # the retries were needed
    assert ledger.totals(visitor="v", day="2026-12-07").stack_day == sum(range(40))


class ConflictingClient:
    """A client whose UpdateItem meets a transaction on the item `conflicts` times, then succeeds."""

    def __init__(self, conflicts: int) -> None:
        self.conflicts = conflicts
        self.calls = 0

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.conflicts:
            raise ClientError(
                {"Error": {"Code": "TransactionConflictException", "Message": "Transaction is ongoing"}},
                "UpdateItem",
            )
        return {}


def test_a_single_update_meeting_a_transaction_is_retried() -> None:
    client = ConflictingClient(conflicts=2)
    table = UsageTable("usage", client, sleep=lambda _: None)  # type: ignore[arg-type]

    table.increment([Counter("day#d", 10, 0)])

    assert client.calls == 3


def test_a_conflict_that_does_not_clear_fails_closed() -> None:
    client = ConflictingClient(conflicts=100)
    table = UsageTable("usage", client, sleep=lambda _: None)  # type: ignore[arg-type]

    with pytest.raises(QuotaUnavailable) as refused:
        table.increment([Counter("day#d", 10, 0)])

    assert refused.value.reason == "dynamodb_TransactionConflictException"
    assert client.calls == 5
