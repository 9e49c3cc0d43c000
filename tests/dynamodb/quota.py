"""The quota's mint as issue 10 specifies it: ONE TransactWriteItems, two conditional `ADD`s."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

CONDITION = "attribute_not_exists(#count) OR #count < :limit"
EXPIRES_AT = 2_000_000_000


def counted_add(table: str, pk: str, limit: int, delta: int = 1) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": pk}},
            "UpdateExpression": "ADD #count :delta SET expires_at = :ttl",
            "ConditionExpression": CONDITION,
            "ExpressionAttributeNames": {"#count": "count"},
            "ExpressionAttributeValues": {
                ":delta": {"N": str(delta)},
                ":ttl": {"N": str(EXPIRES_AT)},
                ":limit": {"N": str(limit)},
            },
        }
    }


def mint(client: Any, table: str, visitor: str, day: str, per_visitor: int, daily: int) -> list[str]:
    """[] when admitted, else the cancellation reason codes (one per item)."""
    try:
        client.transact_write_items(
            TransactItems=[counted_add(table, visitor, per_visitor), counted_add(table, day, daily)]
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        return [reason["Code"] for reason in exc.response["CancellationReasons"]]
    return []


def count(client: Any, table: str, pk: str) -> int | None:
    item = client.get_item(TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
    return None if item is None else int(item["count"]["N"])
