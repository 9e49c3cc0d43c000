"""The companion's items (aws/companion_ledger.py) on moto: the newest generation holds the call,
one claimer per tool call, one finaliser per call."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from vend.aws.companion_ledger import CompanionLedger

TABLE = "realtime-vend-quota"
CALL = "call_" + "cd" * 16


@pytest.fixture
def ledger(monkeypatch: pytest.MonkeyPatch) -> Iterator[CompanionLedger]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        )
        yield CompanionLedger(TABLE, client)


def test_the_newest_generation_holds_the_call_and_a_stale_retry_is_refused(ledger: CompanionLedger) -> None:
    assert ledger.generation(CALL) is None
    assert ledger.take_over(CALL, 0, now=1, ends_at=100)
    assert ledger.take_over(CALL, 0, now=2, ends_at=100)  # Lambda's retry of the same event
    assert ledger.take_over(CALL, 1, now=3, ends_at=100)
    assert not ledger.take_over(CALL, 0, now=4, ends_at=100)  # a late retry of the old generation
    assert ledger.generation(CALL) == 1


def test_a_tool_call_is_claimed_once(ledger: CompanionLedger) -> None:
    assert ledger.claim_tool_call(CALL, "fc_1", 0, ends_at=100)
    assert not ledger.claim_tool_call(CALL, "fc_1", 1, ends_at=100)
    assert ledger.claim_tool_call(CALL, "fc_2", 1, ends_at=100)


def test_the_first_finaliser_records_the_reason(ledger: CompanionLedger) -> None:
    ledger.take_over(CALL, 2, now=1, ends_at=100)
    assert ledger.mark_finalised(CALL, "cap", now=100, ends_at=100)
    assert not ledger.mark_finalised(CALL, "call_over", now=101, ends_at=100)
    assert ledger.finalised_reason(CALL) == "cap"
    assert ledger.generation(CALL) == 2
