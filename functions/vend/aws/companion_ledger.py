"""The companion's own items in the usage table: who holds a call's sideband, which tool calls are
claimed, and whether the call has been finalised.

Items (partition key `pk`, TTL `expires_at`, kept a day past the call's cap like the call record):
    companion#<call id>                generation (the newest companion that attached), attached_at,
                                       finalised_reason, finalised_at (once the call is finalised)
    toolcall#<call id>#<function call id>   generation (the companion that runs it)

Every write is one conditional write, so two companions of one call (a hand-over overlaps them, and
Lambda retries an invocation) agree without locks: the newest generation wins the call, the first
claimer runs a tool call, the first finaliser records why the call ended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3

from vend.aws.failures import error_code, translated
from vend.aws.usage_table import _CLIENT_CONFIG
from vend.errors import QuotaUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RECORD_SLACK_SECONDS = 86_400  # as the call record: a day past the cap
CALL_OVER = "call_over"  # the weakest reason: the call was found over, not ended by this companion
# GPT-Live's `session.closed` reasons, recorded when the companion saw the session end without causing it.
OBSERVED = ("close_requested", "expired", "content", "remote_hangup", "connection_lost")


class CompanionLedger:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb", config=_CLIENT_CONFIG)

    def take_over(self, call_id: str, generation: int, *, now: int, ends_at: int) -> bool:
        """Record that `generation` holds the call now; False if a newer generation already does (this
        one is a stale retry and must leave the call alone). A retry of the same generation may."""
        return self._conditional_update(
            _companion_key(call_id),
            "SET generation = :g, attached_at = :now, expires_at = if_not_exists(expires_at, :exp)",
            "attribute_not_exists(generation) OR generation <= :g",
            {
                ":g": {"N": str(generation)},
                ":now": {"N": str(now)},
                ":exp": {"N": str(ends_at + RECORD_SLACK_SECONDS)},
            },
        )

    def generation(self, call_id: str) -> int | None:
        """The newest generation that attached to the call, if any (a consistent read)."""
        item = self._get(_companion_key(call_id))
        if item is None or "generation" not in item:
            return None
        return int(item["generation"]["N"])

    def claim_tool_call(self, call_id: str, function_call_id: str, generation: int, *, ends_at: int) -> bool:
        """True for exactly one caller per function call: the one that runs it and answers it."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"toolcall#{call_id}#{function_call_id}"},
                    "generation": {"N": str(generation)},
                    "expires_at": {"N": str(ends_at + RECORD_SLACK_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise translated(exc, "dynamodb", QuotaUnavailable) from exc
        return True

    def mark_finalised(self, call_id: str, reason: str, *, now: int, ends_at: int) -> bool:
        """Record why the call ended; True only for the first finaliser (the one that logs it).

        Three ranks, a stronger reason replacing a weaker one: "call_over" (the call was found over)
        < GPT-Live's own `session.closed` reasons (`expired`, `close_requested`, …: seen, not caused)
        < the companion's reasons (`cap`, `assistant`, `spend_cap`). The companion that ended the call
        closes every generation's sideband, and an overlapping one may see that end and finalise first.
        """
        values = {
            ":r": {"S": reason},
            ":now": {"N": str(now)},
            ":exp": {"N": str(ends_at + RECORD_SLACK_SECONDS)},
        }
        condition = "attribute_not_exists(finalised_reason)"
        weaker = () if reason == CALL_OVER else (CALL_OVER,) if reason in OBSERVED else (CALL_OVER, *OBSERVED)
        if weaker:
            names = [f":w{index}" for index in range(len(weaker))]
            condition += f" OR finalised_reason IN ({', '.join(names)})"
            values.update({name: {"S": weak} for name, weak in zip(names, weaker, strict=True)})
        return self._conditional_update(
            _companion_key(call_id),
            "SET finalised_reason = :r, finalised_at = :now, expires_at = if_not_exists(expires_at, :exp)",
            condition,
            values,
        )

    def finalised_reason(self, call_id: str) -> str | None:
        item = self._get(_companion_key(call_id))
        if item is None or "finalised_reason" not in item:
            return None
        return item["finalised_reason"]["S"]

    def _conditional_update(
        self, key: str, update: str, condition: str, values: dict[str, dict[str, str]]
    ) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": key}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise translated(exc, "dynamodb", QuotaUnavailable) from exc
        return True

    def _get(self, key: str) -> dict[str, dict[str, str]] | None:
        try:
            item = self._client.get_item(
                TableName=self._table, Key={"pk": {"S": key}}, ConsistentRead=True
            ).get("Item")
        except Exception as exc:
            raise translated(exc, "dynamodb", QuotaUnavailable) from exc
        return item  # type: ignore[return-value]


def _companion_key(call_id: str) -> str:
    return f"companion#{call_id}"
