"""The quotas hold under concurrency, proven against the local stack's DynamoDB: moto's server, one
request at a time (local.moto_server), reached over HTTP like the real one. (moto's backends are not
atomic under concurrent requests; the one lock is what makes its conditional writes so.)

Ten execution environments (processes) of the real handler mint at once, as ten concurrent Lambda
environments would when a script hammers the endpoint.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator

import pytest

from local.dynamodb import client, template_table_properties
from local.moto_server import MotoServer
from tests.quota.environments import KEY, Environments, call_event, handler_environment, visitor_event

ORIGIN_VERIFY = "events-origin-verify-not-a-real-secret-0123456789abcdef"  # the events' header
REPETITIONS = 5
ENVIRONMENTS = 6
DAILY_CAP = 1000
TABLE = "quota"
CALL_SECONDS = 60
CALL_MINUTES_PER_DAY = 1000


@pytest.fixture(scope="module")
def aws() -> Iterator[MotoServer]:
    """Secrets Manager, SSM, Scheduler and DynamoDB, with the quota table."""
    server = MotoServer(
        secrets={
            "realtime-vend-test/openai-api-key": KEY,
            "realtime-vend-test/origin-verify": json.dumps({"current": ORIGIN_VERIFY, "previous": ""}),
            "realtime-vend-test/visitor-key": "visitor-key-0123456789abcdef0123456789abcdef0123456789",
        },
        parameters={"/realtime-vend-test/paused": "false"},
    )
    with server:
        yield server


@pytest.fixture(scope="module")
def dynamodb(aws: MotoServer) -> str:
    """The DynamoDB endpoint: moto's, with the quota table."""
    aws.create(tables={TABLE: template_table_properties("QuotaTable")})
    return aws.endpoint


@pytest.fixture(scope="module")
def pool(dynamodb: str, aws: MotoServer) -> Iterator[Environments]:
    arns = {
        "key": aws.arns["realtime-vend-test/openai-api-key"],
        "origin": aws.arns["realtime-vend-test/origin-verify"],
        "visitor": aws.arns["realtime-vend-test/visitor-key"],
    }
    env = handler_environment(
        dynamodb=dynamodb,
        aws=aws.endpoint,
        arns=arns,
        table=TABLE,
        QUOTA_PER_VISITOR="10",
        DAILY_CAP=str(DAILY_CAP),
        CALL_MODE="both",
        MAX_CALL_SECONDS=str(CALL_SECONDS),
        CONCURRENT_CALLS_PER_VISITOR="2",
        CALL_MINUTES_PER_VISITOR="1440",
        CALL_MINUTES_PER_DAY=str(CALL_MINUTES_PER_DAY),
    )
    aws.create(schedule_groups=[env["SCHEDULE_GROUP_NAME"]])
    environments = Environments(env, ENVIRONMENTS)
    yield environments
    environments.close()


def spend_today(dynamodb: str, count: int) -> None:
    """Set the stack's count for today as if `count` mints had happened: each test starts from a known day."""
    day = dt.datetime.now(dt.UTC).date().isoformat()
    client(dynamodb).put_item(
        TableName=TABLE,
        Item={"pk": {"S": f"day#{day}"}, "count": {"N": str(count)}, "expires_at": {"N": "0"}},
    )


def test_fifty_concurrent_mints_from_one_visitor_admit_exactly_the_quota(
    pool: Environments, dynamodb: str
) -> None:
    spend_today(dynamodb, 0)
    for repetition in range(REPETITIONS):
        # A fresh visitor each time (the window is 10 minutes), and a bystander among the attacker's.
        attacker = [visitor_event(f"198.51.100.{repetition + 1}") for _ in range(50)]
        bystander = [visitor_event(f"2001:db8:{repetition + 1}::7") for _ in range(5)]
        events = attacker[:25] + bystander + attacker[25:]

        results = pool.invoke_all(events)

        attacker_results = results[:25] + results[30:]
        assert Counter(status for status, _, _ in attacker_results) == {200: 10, 429: 40}, repetition
        refusals = [(code, headers) for status, code, headers in attacker_results if status == 429]
        assert {code for code, _ in refusals} == {"quota_exceeded"}
        assert all(1 <= int(headers["Retry-After"]) <= 600 for _, headers in refusals)
        # The second visitor is unaffected by the first one's refusals.
        assert [status for status, _, _ in results[25:30]] == [200] * 5, repetition


def test_the_daily_cap_binds_across_visitors(pool: Environments, dynamodb: str) -> None:
    spend_today(dynamodb, DAILY_CAP - 25)  # 25 left for today
    events = [visitor_event(f"203.0.113.{visitor}") for _ in range(20) for visitor in (1, 2, 3)]

    results = pool.invoke_all(events)

    admitted = Counter(
        event["headers"]["cloudfront-viewer-address"]
        for event, (status, _, _) in zip(events, results, strict=True)
        if status == 200
    )
    assert sum(admitted.values()) == 25
    assert max(admitted.values()) <= 10  # each visitor's own quota still held
    codes = Counter(code for status, code, _ in results if status == 429)
    assert set(codes) <= {"quota_exceeded", "daily_cap_reached"}
    assert codes["daily_cap_reached"] >= 1
    # Once the day is spent, a new visitor is refused too, and told when it resets.
    [(status, code, headers)] = pool.invoke_all([visitor_event("192.0.2.99")])
    assert (status, code) == (429, "daily_cap_reached")
    assert 1 <= int(headers["Retry-After"]) <= 86_400


def set_counter(dynamodb: str, key: str, count: int) -> None:
    client(dynamodb).put_item(
        TableName=TABLE, Item={"pk": {"S": key}, "count": {"N": str(count)}, "expires_at": {"N": "0"}}
    )


def test_concurrent_call_leases_hold_under_a_burst(pool: Environments, dynamodb: str) -> None:
    day = dt.datetime.now(dt.UTC).date().isoformat()
    set_counter(dynamodb, f"callsec#day#{day}", 0)
    for repetition in range(REPETITIONS):
        # 30 offers at once from one visitor allowed 2 concurrent calls: exactly 2 calls start
        results = pool.invoke_all([call_event(f"198.51.100.{100 + repetition}") for _ in range(30)])

        assert Counter(status for status, _, _ in results) == {201: 2, 429: 28}, repetition
        assert {code for status, code, _ in results if status == 429} == {"concurrent_calls"}


def test_the_stacks_call_minutes_bind_across_visitors_under_a_burst(
    pool: Environments, dynamodb: str
) -> None:
    day = dt.datetime.now(dt.UTC).date().isoformat()
    budget = CALL_MINUTES_PER_DAY * 60
    set_counter(dynamodb, f"callsec#day#{day}", budget - 5 * CALL_SECONDS)  # room for exactly 5 calls

    # 12 visitors, 2 offers each, at once: each visitor could have 2 calls, the stack only 5
    results = pool.invoke_all([call_event(f"203.0.113.{100 + n % 12}") for n in range(24)])

    assert Counter(status for status, _, _ in results) == {201: 5, 429: 19}
    assert {code for status, code, _ in results if status == 429} == {"daily_cap_reached"}
