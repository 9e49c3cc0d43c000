"""The metered dollars of relayed calls in the usage table: per call, per visitor per UTC day, per stack
per UTC day, each event counted exactly once.

One event (a `response.done`'s response id, a transcription's item id) is one `TransactWriteItems`:

    event marker (Put if absent) + call's total + visitor's day + one shard of the stack's day

The marker makes it idempotent: a retry after a lost answer, or a second companion recording the same
event during a hand-over, finds the marker and changes nothing (`record` answers None). So no event is
counted twice, and none is lost as long as the caller retries until `record` answers.

The stack's day is the one item every call writes, and DynamoDB cancels transactions that overlap on
an item (`TransactionConflict`). So it is split into SHARDS items, and each attempt adds to a shard
drawn at random: two of 500 calls metering at once meet on a shard rarely, and a conflict is retried
on another draw. Reading the stack's day sums the shards (one BatchGetItem, which never conflicts).

A cumulative meter (GPT-Live reports its voice seconds as running totals, never per event) is the
same transaction with the meter item instead of the marker: its total is set, conditional on the total
read before it, and the difference is what the other three items get (`record_total`); the final
total closes the meter.

Items (partition key `pk`, TTL `expires_at`, a day past the UTC day):
    spend#event#<call id>#<event key>   model, micro_usd
    spend#meter#<call id>#<meter>       model, micro_usd (the call's total on that meter so far), final
    spend#call#<call id>                micro_usd, visitor, day
    spend#visitor#<visitor>#<day>       micro_usd
    spend#day#<day>#<shard>             micro_usd
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3

from vend.aws.failures import translated
from vend.aws.usage_table import _CLIENT_CONFIG, cancellation_reasons
from vend.errors import QuotaUnavailable
from vend.metering.totals import Increase, SpendTotals

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["SHARDS", "SpendLedger", "SpendTotals"]

SHARDS = 32  # BatchGetItem reads up to 100 keys: shards + the visitor's day + the call fit in one
CONFLICT_RETRIES = 9  # off the request path (the companion meters): patience over a lost count
EXPIRY_SLACK_SECONDS = 86_400


class SpendLedger:
    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        *,
        shards: int = SHARDS,
        sleep: Callable[[float], None] = time.sleep,
        draw: Callable[[int], int] = random.randrange,
    ) -> None:
        if not 1 <= shards <= 98:
            raise ValueError("shards must be between 1 and 98 (one BatchGetItem reads 100 keys)")
        self._table = table_name
        self._client = client or boto3.client("dynamodb", config=_CLIENT_CONFIG)
        self._shards = shards
        self._sleep = sleep
        self._draw = draw

    def record(
        self, *, call_id: str, visitor: str, day: str, model: str, event_key: str, micro_usd: int
    ) -> SpendTotals | None:
        """Add one event's cost; None if this event_key was already recorded for this call."""
        if micro_usd < 0:
            raise ValueError("a cost is never negative")
        expires = {"N": str(_day_end(day) + EXPIRY_SLACK_SECONDS)}
        for attempt in range(CONFLICT_RETRIES + 1):
            items = [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": {"S": _event_key(call_id, event_key)},
                            "model": {"S": model},
                            "micro_usd": {"N": str(micro_usd)},
                            "expires_at": expires,
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                *self._totals(call_id, visitor, day, micro_usd, expires),
            ]
            try:
                self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                break
            except Exception as exc:
                cancelled = cancellation_reasons(exc)
                if cancelled is None:
                    raise translated(exc, "dynamodb", QuotaUnavailable) from exc
                reasons = [code for code, _ in cancelled]
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    return None  # recorded before: by an earlier attempt or the other companion
                if "TransactionConflict" not in reasons or attempt == CONFLICT_RETRIES:
                    raise QuotaUnavailable(f"dynamodb_spend_{'_'.join(sorted(set(reasons)))}") from None
                self._sleep((0.005 + 0.02 * random.random()) * (attempt + 1))  # noqa: S311 - jitter
        return self.totals(visitor=visitor, day=day, call_id=call_id)

    def record_total(
        self,
        *,
        call_id: str,
        visitor: str,
        day: str,
        model: str,
        meter: str,
        total_micro_usd: int,
        final: bool = False,
    ) -> Increase | None:
        """Move a call's cumulative `meter` (GPT-Live's voice seconds, priced) to `total_micro_usd`,
        adding only the difference to what the call recorded before; None if nothing changed.

        The meter item holds the total recorded so far; each write is conditional on the total it
        read, so two companions that see the same snapshot add its increase once, and a companion that
        missed snapshots adds what the others had not. A running total below the recorded one adds
        nothing (so a call errs towards counting more); the `final` total (the session's last usage)
        is recorded as it is, even below, and closes the meter: nothing moves it afterwards.
        """
        if total_micro_usd < 0:
            raise ValueError("a cost is never negative")
        expires = {"N": str(_day_end(day) + EXPIRY_SLACK_SECONDS)}
        key = _meter_key(call_id, meter)
        for attempt in range(CONFLICT_RETRIES + 1):
            recorded, closed = self._meter(key)
            increase = total_micro_usd - (recorded or 0)
            if closed or (increase <= 0 and not final):
                return None
            values: dict[str, dict[str, Any]] = {}
            if recorded is None:
                condition = "attribute_not_exists(pk)"
            else:
                condition = "micro_usd = :recorded AND attribute_not_exists(#final)"
                values[":recorded"] = {"N": str(recorded)}
            if final:
                values[":final"] = {"BOOL": True}
            items = [
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {"pk": {"S": key}},
                        "UpdateExpression": "SET micro_usd = :total, #model = :model, "
                        "expires_at = if_not_exists(expires_at, :expires)"
                        + (", #final = :final" if final else ""),
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": {
                            "#model": "model",
                            **({"#final": "final"} if final or recorded is not None else {}),
                        },
                        "ExpressionAttributeValues": {
                            ":total": {"N": str(total_micro_usd)},
                            ":model": {"S": model},
                            ":expires": expires,
                            **values,
                        },
                    }
                },
                *self._totals(call_id, visitor, day, increase, expires),
            ]
            try:
                self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                break
            except Exception as exc:
                cancelled = cancellation_reasons(exc)
                if cancelled is None:
                    raise translated(exc, "dynamodb", QuotaUnavailable) from exc
                reasons = [code for code, _ in cancelled]
                retryable = (
                    reasons and reasons[0] == "ConditionalCheckFailed"
                ) or "TransactionConflict" in reasons
                if not retryable or attempt == CONFLICT_RETRIES:
                    raise QuotaUnavailable(f"dynamodb_spend_{'_'.join(sorted(set(reasons)))}") from None
                # Another companion moved the total (read it again) or a conflict: back off, retry.
                self._sleep((0.005 + 0.02 * random.random()) * (attempt + 1))  # noqa: S311 - jitter
        return Increase(increase, self.totals(visitor=visitor, day=day, call_id=call_id))

    def _meter(self, key: str) -> tuple[int | None, bool]:
        """A cumulative meter's recorded total (None: nothing yet), and whether it is final."""
        try:
            item = self._client.get_item(
                TableName=self._table,
                Key={"pk": {"S": key}},
                ConsistentRead=True,
                ProjectionExpression="micro_usd, #final",
                ExpressionAttributeNames={"#final": "final"},
            ).get("Item")
        except Exception as exc:
            raise translated(exc, "dynamodb", QuotaUnavailable) from exc
        if item is None:
            return None, False
        return int(item["micro_usd"]["N"]), bool(item.get("final", {}).get("BOOL", False))

    def totals(self, *, visitor: str, day: str, call_id: str | None = None) -> SpendTotals:
        """The visitor's and the stack's metered spend for `day` (and the call's), read consistently."""
        keys = [_visitor_key(visitor, day), *(_shard_key(day, shard) for shard in range(self._shards))]
        if call_id is not None:
            keys.append(_call_key(call_id))
        found = self._batch_get(keys)
        stack = sum(found.get(_shard_key(day, shard), 0) for shard in range(self._shards))
        return SpendTotals(
            call=found.get(_call_key(call_id), 0) if call_id is not None else 0,
            visitor_day=found.get(_visitor_key(visitor, day), 0),
            stack_day=stack,
        )

    def _batch_get(self, keys: list[str]) -> dict[str, int]:
        request: dict[str, Any] = {
            self._table: {
                "Keys": [{"pk": {"S": key}} for key in keys],
                "ConsistentRead": True,
                "ProjectionExpression": "pk, micro_usd",
            }
        }
        found: dict[str, int] = {}
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                answer = self._client.batch_get_item(RequestItems=request)
            except Exception as exc:
                raise translated(exc, "dynamodb", QuotaUnavailable) from exc
            for item in answer.get("Responses", {}).get(self._table, []):
                found[item["pk"]["S"]] = int(item.get("micro_usd", {}).get("N", "0"))
            request = dict(answer.get("UnprocessedKeys") or {})
            if not request:
                return found
            self._sleep(0.01 * (attempt + 1))  # unprocessed keys: DynamoDB asks to back off
        raise QuotaUnavailable("dynamodb_spend_unprocessed_keys")

    def _totals(
        self, call_id: str, visitor: str, day: str, micro_usd: int, expires: dict[str, str]
    ) -> list[dict[str, Any]]:
        """The three totals an amount adds to: the call's, the visitor's day, a shard of the stack's day."""
        return [
            self._add(
                _call_key(call_id),
                micro_usd,
                expires,
                also="#visitor = :visitor, #day = :day",
                values={":visitor": {"S": visitor}, ":day": {"S": day}},
            ),
            self._add(_visitor_key(visitor, day), micro_usd, expires),
            self._add(_shard_key(day, self._draw(self._shards)), micro_usd, expires),
        ]

    def _add(
        self,
        key: str,
        micro_usd: int,
        expires: dict[str, str],
        *,
        also: str = "",
        values: dict[str, dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"pk": {"S": key}},
            "UpdateExpression": "ADD micro_usd :micro SET expires_at = if_not_exists(expires_at, :expires)"
            + (f", {also}" if also else ""),
            "ExpressionAttributeValues": {
                ":micro": {"N": str(micro_usd)},
                ":expires": expires,
                **(values or {}),
            },
        }
        if also:
            update["ExpressionAttributeNames"] = {"#visitor": "visitor", "#day": "day"}  # reserved words
        return {"Update": update}


def _event_key(call_id: str, event_key: str) -> str:
    return f"spend#event#{call_id}#{event_key}"


def _meter_key(call_id: str, meter: str) -> str:
    return f"spend#meter#{call_id}#{meter}"


def _call_key(call_id: str) -> str:
    return f"spend#call#{call_id}"


def _visitor_key(visitor: str, day: str) -> str:
    return f"spend#visitor#{visitor}#{day}"


def _shard_key(day: str, shard: int) -> str:
    return f"spend#day#{day}#{shard}"


def _day_end(day: str) -> int:
    date = dt.date.fromisoformat(day)
    return int(dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp())
