"""Concurrent mints never over-admit: the property moto failed and the quota rests on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from tests.all_at_once import all_at_once
from tests.dynamodb.quota import CONDITION, count, mint

T = TypeVar("T")


@pytest.mark.parametrize("repetition", range(6))
def test_50_concurrent_mints_by_a_visitor_admit_exactly_10(client: Any, table: str, repetition: int) -> None:
    visitor, day = f"visitor#v{repetition}#0", f"day#{repetition}"

    outcomes = all_at_once(
        [lambda: mint(client, table, visitor, day, per_visitor=10, daily=1000) for _ in range(50)]
    )

    assert Counter(tuple(o) for o in outcomes) == {(): 10, ("ConditionalCheckFailed", "None"): 40}
    assert count(client, table, visitor) == 10
    assert count(client, table, day) == 10


@pytest.mark.parametrize("repetition", range(3))
def test_the_daily_cap_binds_across_visitors(client: Any, table: str, repetition: int) -> None:
    day = f"day#{repetition}"
    visitors = [f"visitor#v{n}#0" for n in range(3)]
    calls = [
        (lambda v=visitor: mint(client, table, v, day, per_visitor=10, daily=25))
        for visitor in visitors
        for _ in range(20)
    ]

    outcomes = all_at_once(calls)

    assert sum(not o for o in outcomes) == 25
    assert count(client, table, day) == 25
    counts = [count(client, table, visitor) for visitor in visitors]
    assert sum(c or 0 for c in counts) == 25
    assert all(c is not None and c <= 10 for c in counts)


def test_a_second_visitor_is_unaffected_by_the_first_ones_limit(client: Any, table: str) -> None:
    calls = [lambda: mint(client, table, "visitor#a#0", "day#d", 10, 1000) for _ in range(30)]
    calls += [lambda: mint(client, table, "visitor#b#0", "day#d", 10, 1000) for _ in range(5)]

    outcomes = all_at_once(calls)

    assert sum(not o for o in outcomes[:30]) == 10
    assert all(not o for o in outcomes[30:])
    assert count(client, table, "day#d") == 15


def test_transactions_and_single_item_updates_share_the_item_locks(client: Any, table: str) -> None:
    def update_item() -> bool:
        try:
            client.update_item(
                TableName=table,
                Key={"pk": {"S": "visitor#v#0"}},
                UpdateExpression="ADD #count :one",
                ConditionExpression=CONDITION,
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": "10"}},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def transaction() -> bool:
        return not mint(client, table, "visitor#v#0", "day#d", 10, 1000)

    outcomes = all_at_once([update_item, transaction] * 25)

    assert sum(outcomes) == 10
    assert count(client, table, "visitor#v#0") == 10


def test_many_transactions_crossing_the_same_items_in_both_orders_finish(client: Any, table: str) -> None:
    # Locks are taken in one order whatever the request's order, so crossing transactions cannot deadlock.
    def crossing(first: str, second: str) -> Callable[[], list[str]]:
        return lambda: mint(client, table, first, second, 1000, 1000)

    outcomes = all_at_once([crossing("a", "b"), crossing("b", "a")] * 20)

    assert all(o == [] for o in outcomes)
    assert count(client, table, "a") == 40
    assert count(client, table, "b") == 40
