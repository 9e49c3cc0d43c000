"""The dollar budgets at admission: a spent visitor or stack gets 429 spend_cap_reached before any lease,
charge, count or upstream request; the companion's check names whose budget it was."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.conftest import REQUIRED_ENV
from vend.errors import SpendCapReached
from vend.logic.mint import ClientSecretVendor
from vend.logic.relay import CallRelay
from vend.logic.spend_budget import SpendBudget
from vend.metering.totals import SpendTotals
from vend.settings import load_settings

NOON = int(dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC).timestamp())
SETTINGS = load_settings({**REQUIRED_ENV, "OPENAI_API_KEY_SECRET_ARN": "realtime-vend/openai"})


class Totals:
    def __init__(self, visitor_day: int, stack_day: int) -> None:
        self.totals_read = SpendTotals(call=0, visitor_day=visitor_day, stack_day=stack_day)
        self.asked: list[tuple[str, str]] = []

    def totals(self, *, visitor: str, day: str, call_id: str | None = None) -> SpendTotals:
        self.asked.append((visitor, day))
        return self.totals_read


class Untouchable:
    """Stands for the ledger, the schedules, the quota, the key and OpenAI: any use fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} was reached after the spend budget refused")


def budget(visitor_day: int, stack_day: int) -> tuple[SpendBudget, Totals]:
    totals = Totals(visitor_day, stack_day)
    return SpendBudget(visitor_micro_usd=2_000_000, stack_micro_usd=20_000_000, ledger=totals), totals


@pytest.mark.parametrize(
    ("visitor_day", "stack_day", "over"),
    [
        (2_000_000, 0, "visitor"),
        (0, 20_000_000, "stack"),
        (2_000_001, 20_000_000, "visitor"),
        (1_999_999, 19_999_999, None),
    ],
)
def test_exceeded_names_the_budget_reached(visitor_day: int, stack_day: int, over: str | None) -> None:
    spend, _ = budget(0, 0)
    assert spend.exceeded(SpendTotals(call=0, visitor_day=visitor_day, stack_day=stack_day)) == over


def test_a_spent_stack_refuses_a_call_before_its_lease_and_charge() -> None:
    spend, totals = budget(visitor_day=0, stack_day=20_000_000)
    untouchable = Untouchable()
    relay = CallRelay(
        SETTINGS, untouchable, untouchable, untouchable, untouchable, clock=lambda: NOON + 0.5, spend=spend
    )

    with pytest.raises(SpendCapReached) as refused:
        relay.start("v=0\r\n", visitor="fp_visitor", deadline=0)

    assert (refused.value.status, refused.value.code, refused.value.who) == (
        429,
        "spend_cap_reached",
        "stack",
    )
    assert refused.value.headers() == {"Retry-After": str(12 * 3600)}
    assert "00:00 UTC, in 12 hours" in refused.value.public_message
    assert totals.asked == [("fp_visitor", "2026-12-07")]


def test_a_spent_visitor_gets_no_client_secret_and_no_count() -> None:
    spend, totals = budget(visitor_day=2_000_000, stack_day=0)
    untouchable = Untouchable()
    vendor = ClientSecretVendor(SETTINGS, untouchable, untouchable, untouchable, spend=spend)

    with pytest.raises(SpendCapReached) as refused:
        vendor.mint(None, visitor="fp_visitor", deadline=0)

    assert refused.value.who == "visitor"
    assert "You have used the calls this service allows you per day" in refused.value.public_message
    assert totals.asked[0][0] == "fp_visitor"


def test_with_room_left_admission_goes_on_to_the_quota() -> None:
    spend, _ = budget(visitor_day=1_999_999, stack_day=19_999_999)
    vendor = ClientSecretVendor(SETTINGS, Untouchable(), Untouchable(), Untouchable(), spend=spend)

    with pytest.raises(AssertionError, match="admit was reached"):
        vendor.mint(None, visitor="fp_visitor", deadline=0)
