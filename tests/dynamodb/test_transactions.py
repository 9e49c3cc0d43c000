"""TransactWriteItems answers and writes as DynamoDB does, where the quota depends on it.

The subject is the local stack's DynamoDB: moto's server, one request at a time (local.moto_server).
Where moto answers a request the handler never sends otherwise than DynamoDB would, the test says so:
an ADD to a non-number is refused whole with a ValidationException (DynamoDB: a cancellation whose
reason is ValidationError); a wrong key is refused whole with a ValidationException without
DynamoDB's message. An ExpressionAttributeValues entry that no expression uses, which moto would accept
in a transaction, is refused as DynamoDB refuses it by the server's own check (local.dynamodb_checks).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.dynamodb import client as dynamodb_client
from local.moto_server import MotoServer
from tests.dynamodb.quota import EXPIRES_AT, count, counted_add, mint


@pytest.fixture(scope="module")
def client(moto: MotoServer) -> Any:
    return dynamodb_client(moto.endpoint)


def test_a_failed_condition_on_the_second_item_writes_neither(client: Any, table: str) -> None:
    client.put_item(TableName=table, Item={"pk": {"S": "day#2026-01-01"}, "count": {"N": "3"}})

    with pytest.raises(client.exceptions.TransactionCanceledException) as caught:
        client.transact_write_items(
            TransactItems=[
                counted_add(table, "visitor#v#0", limit=10),
                counted_add(table, "day#2026-01-01", limit=3),
            ]
        )

    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "TransactionCanceledException"
    assert response["Error"]["Message"] == (
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[None, ConditionalCheckFailed]"
    )
    assert response["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},
    ]
    assert count(client, table, "visitor#v#0") is None
    assert count(client, table, "day#2026-01-01") == 3


def test_a_failed_condition_on_the_first_item_is_reported_first(client: Any, table: str) -> None:
    client.put_item(TableName=table, Item={"pk": {"S": "visitor#v#0"}, "count": {"N": "10"}})

    assert mint(client, table, "visitor#v#0", "day#d", per_visitor=10, daily=200) == [
        "ConditionalCheckFailed",
        "None",
    ]
    assert count(client, table, "day#d") is None


def test_add_on_a_missing_item_creates_it_with_the_count_and_a_refund_takes_it_back(
    client: Any, table: str
) -> None:
    assert mint(client, table, "visitor#v#0", "day#d", per_visitor=10, daily=200) == []

    item = client.get_item(TableName=table, Key={"pk": {"S": "visitor#v#0"}})["Item"]
    assert item == {"pk": {"S": "visitor#v#0"}, "count": {"N": "1"}, "expires_at": {"N": str(EXPIRES_AT)}}
    assert count(client, table, "day#d") == 1

    client.transact_write_items(
        TransactItems=[
            counted_add(table, "visitor#v#0", limit=10, delta=-1),
            counted_add(table, "day#d", limit=200, delta=-1),
        ]
    )
    assert count(client, table, "visitor#v#0") == 0
    assert count(client, table, "day#d") == 0


def test_the_limit_admits_exactly_up_to_it(client: Any, table: str) -> None:
    outcomes = [mint(client, table, "visitor#v#0", "day#d", per_visitor=3, daily=200) for _ in range(5)]

    assert outcomes == [[], [], [], ["ConditionalCheckFailed", "None"], ["ConditionalCheckFailed", "None"]]
    assert count(client, table, "visitor#v#0") == 3


def test_all_four_operations_apply_together(client: Any, table: str) -> None:
    client.put_item(TableName=table, Item={"pk": {"S": "old"}, "count": {"N": "1"}})
    client.put_item(TableName=table, Item={"pk": {"S": "lease"}, "count": {"N": "2"}})

    client.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": table,
                    "Item": {"pk": {"S": "new"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "old"}}}},
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": {"pk": {"S": "lease"}},
                    "ConditionExpression": "#count = :two",
                    "ExpressionAttributeNames": {"#count": "count"},
                    "ExpressionAttributeValues": {":two": {"N": "2"}},
                }
            },
            counted_add(table, "visitor#v#0", limit=10),
        ]
    )

    keys = sorted(item["pk"]["S"] for item in client.scan(TableName=table)["Items"])
    assert keys == ["lease", "new", "visitor#v#0"]


def test_a_failed_condition_check_cancels_the_writes_and_can_return_the_item(client: Any, table: str) -> None:
    client.put_item(TableName=table, Item={"pk": {"S": "lease"}, "count": {"N": "1"}})

    with pytest.raises(client.exceptions.TransactionCanceledException) as caught:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "lease"}},
                        "ConditionExpression": "#count = :two",
                        "ExpressionAttributeNames": {"#count": "count"},
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )

    assert caught.value.response["CancellationReasons"] == [
        {"Code": "None"},
        {
            "Code": "ConditionalCheckFailed",
            "Message": "The conditional request failed",
            "Item": {"pk": {"S": "lease"}, "count": {"N": "1"}},
        },
    ]
    assert client.get_item(TableName=table, Key={"pk": {"S": "new"}}).get("Item") is None


def test_an_update_that_cannot_apply_refuses_the_whole_transaction(client: Any, table: str) -> None:
    client.put_item(TableName=table, Item={"pk": {"S": "day#d"}, "count": {"S": "not a number"}})
    add_to_a_string = {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": "day#d"}},
            "UpdateExpression": "ADD #count :one",
            "ExpressionAttributeNames": {"#count": "count"},
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }

    with pytest.raises(ClientError) as caught:
        client.transact_write_items(
            TransactItems=[counted_add(table, "visitor#v#0", limit=10), add_to_a_string]
        )

    # DynamoDB: TransactionCanceledException, reasons [None, ValidationError]; moto: the whole request.
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "incorrect data type" in caught.value.response["Error"]["Message"]
    assert count(client, table, "visitor#v#0") is None


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (
            lambda t: [counted_add(t, "same", 10), counted_add(t, "same", 10)],
            "Transaction request cannot include multiple operations on one item",
        ),
        (
            lambda t: [{"Put": {"TableName": t, "Item": {"pk": {"S": str(i)}}}} for i in range(101)],
            "Member must have length less than or equal to 100",
        ),
        (
            lambda t: [
                {
                    "Update": {
                        "TableName": t,
                        "Key": {"pk": {"S": "a"}},
                        "UpdateExpression": "ADD #count :one",
                        "ExpressionAttributeNames": {"#count": "count"},
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":unused": {"N": "1"}},
                    }
                }
            ],
            "Value provided in ExpressionAttributeValues unused in expressions",
        ),
        (
            lambda t: [
                {
                    "ConditionCheck": {
                        "TableName": t,
                        "Key": {"pk": {"S": "a"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ExpressionAttributeNames": {"#unused": "count"},
                    }
                }
            ],
            "Value provided in ExpressionAttributeNames unused in expressions",
        ),
    ],
    # Not here, as moto answers it otherwise than DynamoDB (see the module's docstring): a key that does
    # not match the schema.
    ids=["one item twice", "101 items", "unused value", "unused name"],
)
def test_invalid_transactions_are_refused_whole_with_a_validation_error(
    client: Any, table: str, items: Any, message: str
) -> None:
    with pytest.raises(ClientError) as caught:
        client.transact_write_items(TransactItems=items(table))

    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert message in caught.value.response["Error"]["Message"]
    assert client.scan(TableName=table)["Items"] == []


def test_a_missing_table_is_resource_not_found(client: Any) -> None:
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.transact_write_items(TransactItems=[counted_add("no-such-table", "a", 10)])


def test_exactly_100_items_are_accepted(client: Any, table: str) -> None:
    client.transact_write_items(
        TransactItems=[{"Put": {"TableName": table, "Item": {"pk": {"S": str(i)}}}} for i in range(100)]
    )

    assert len(client.scan(TableName=table)["Items"]) == 100
