"""Relayed calls in the usage table: leases, call-second budgets and one record per call.

Nothing tells us when a WebRTC call ends, so a visitor's concurrent-call slot is a *lease* that
lasts until the call's cap, and a call is charged its whole cap when it starts; ending it early
through our API frees the lease and refunds the unused seconds. The visitor's items move together in
one transaction; the stack's day item, which every call start and end of the stack writes, is never
in a transaction (DynamoDB would cancel overlapping ones: aws/usage_table.py), but gets one
conditional update after it:

    start: [lease slot (free or expired) + visitor's seconds + the call's record], then stack's seconds
           (the stack full: the first step is undone, and the start refused as before)
    end:   [the record (live → ended) + the lease (if still this call's) + the visitor's refund],
           then the stack's refund

The record's condition makes each end happen once, so the stack's refund follows exactly one end. If
the environment dies between the two steps, the stack keeps a charge it should have given back: the
stack's count can err high by one call's cap per such crash, never low (docs/limits.md).

Items (partition key `pk`, TTL `expires_at`):
    lease#<visitor>#<slot>         call_id, ends_at
    callsec#<visitor>#<day>        count (charged call-seconds)
    callsec#day#<day>              count
    call#<call id>                 visitor, slot, day, started_at, ends_at, charged_seconds, state,
                                   openai_call_id
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import boto3

from vend.aws.failures import translated
from vend.aws.usage_table import _CLIENT_CONFIG, UsageTable
from vend.errors import QuotaUnavailable, VendError
from vend.observability import logger
from vend.usage import Budgets, CallRecord, CounterFull, SlotTaken

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RECORD_SLACK_SECONDS = 86_400  # keep a call's record a day past its end (DELETE stays idempotent)


class CallLedger:
    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb", config=_CLIENT_CONFIG)
        # Transactions (with their conflict retries) go through the usage table's one implementation.
        self._transactions = UsageTable(table_name, self._client, **({"sleep": sleep} if sleep else {}))

    def start(self, call: CallRecord, budgets: Budgets, *, now: int) -> None:
        """Take the lease and charge the cap, or raise SlotTaken / CounterFull(1 visitor, 2 stack)."""
        expires = call.ends_at + RECORD_SLACK_SECONDS
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": {"S": _lease_key(call.visitor, call.slot)},
                        "call_id": {"S": call.call_id},
                        "ends_at": {"N": str(call.ends_at)},
                        "expires_at": {"N": str(expires)},
                    },
                    "ConditionExpression": "attribute_not_exists(pk) OR ends_at <= :now",
                    "ExpressionAttributeValues": {":now": {"N": str(now)}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            self._charge(_seconds_key(call.visitor, call.day), call.charged_seconds, budgets.visitor_seconds),
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _record_item(call, expires),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        try:
            self._transactions.transact(items)
        except CounterFull as full:
            if full.index == 0:
                raise SlotTaken(_old_ends_at(full.old_item)) from None
            raise
        stack = self._charge(_seconds_key("day", call.day), call.charged_seconds, budgets.stack_seconds)
        try:
            self._transactions.update(stack["Update"])
        except CounterFull:
            self._undo_start(call)
            raise CounterFull(2) from None
        except Exception:
            self._undo_start(call)
            raise

    def _undo_start(self, call: CallRecord) -> None:
        """The stack refused (or could not be asked): the call never ran, so it gives everything back.
        Best effort: if this fails too, the visitor keeps a charge and a lease until the cap."""
        try:
            self.end(call, refund_seconds=call.charged_seconds, stack_charged=False)
        except VendError as error:
            logger.error("could not undo a refused call start", extra={"reason": error.reason})

    def mark_live(self, call_id: str, openai_call_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": _call_key(call_id)}},
            UpdateExpression="SET #state = :live, openai_call_id = :openai",
            ConditionExpression="#state = :pending",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":live": {"S": "live"},
                ":pending": {"S": "pending"},
                ":openai": {"S": openai_call_id},
            },
        )

    def get(self, call_id: str) -> CallRecord | None:
        try:
            item = self._client.get_item(
                TableName=self._table, Key={"pk": {"S": _call_key(call_id)}}, ConsistentRead=True
            ).get("Item")
        except Exception as exc:
            raise translated(exc, "dynamodb", QuotaUnavailable) from exc
        return _record(item) if item else None

    def end(
        self,
        call: CallRecord,
        *,
        refund_seconds: int,
        free_lease: bool = True,
        stack_charged: bool = True,
    ) -> bool:
        """Mark the call ended, free its lease, refund; False if it had already ended (nothing done).
        `stack_charged` False: the start was refused by the stack's budget, so only the visitor's
        charge comes back."""
        if not self._end_visitor_items(call, refund_seconds=refund_seconds, free_lease=free_lease):
            return False
        if refund_seconds > 0 and stack_charged:
            self._refund_stack(call, refund_seconds)
        return True

    def _end_visitor_items(self, call: CallRecord, *, refund_seconds: int, free_lease: bool) -> bool:
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": {"S": _call_key(call.call_id)}},
                    "UpdateExpression": "SET #state = :ended",
                    "ConditionExpression": "attribute_exists(pk) AND #state <> :ended",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": {":ended": {"S": "ended"}},
                }
            }
        ]
        if free_lease:
            items.append(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": {"pk": {"S": _lease_key(call.visitor, call.slot)}},
                        # Only this call's lease: after its cap the slot may belong to a newer call.
                        "ConditionExpression": "attribute_not_exists(pk) OR call_id = :call",
                        "ExpressionAttributeValues": {":call": {"S": call.call_id}},
                    }
                }
            )
        if refund_seconds > 0:
            items.append(self._refund(_seconds_key(call.visitor, call.day), refund_seconds))
        try:
            self._transactions.transact(items)
        except CounterFull as full:
            if full.index == 0:
                return False  # already ended: idempotent
            if free_lease and full.index == 1:  # the slot moved on to a newer call: end and refund only
                return self._end_visitor_items(call, refund_seconds=refund_seconds, free_lease=False)
            raise
        return True

    def _refund_stack(self, call: CallRecord, seconds: int) -> None:
        """After the end itself: a failure leaves the stack's count high (safe), and is logged."""
        refund = self._refund(_seconds_key("day", call.day), seconds)["Update"]
        # Never below zero: a refund larger than what the day holds gives nothing back.
        refund["ConditionExpression"] = "#count >= :seconds"
        refund["ExpressionAttributeValues"][":seconds"] = {"N": str(seconds)}
        try:
            self._transactions.update(refund)
        except CounterFull:
            logger.warning("stack refund larger than its count", extra={"refund_seconds": seconds})
        except VendError as error:
            logger.error("stack refund failed", extra={"reason": error.reason, "refund_seconds": seconds})

    def live_calls(self) -> Iterator[CallRecord]:
        """Every call not ended yet (a Scan: the kill switch's, an operator's rare action)."""
        paginator = self._client.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self._table,
            FilterExpression="begins_with(pk, :call) AND #state <> :ended",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":call": {"S": "call#"}, ":ended": {"S": "ended"}},
            ConsistentRead=True,
        )
        try:
            for page in pages:
                for item in page.get("Items", []):
                    yield _record(item)
        except Exception as exc:
            raise translated(exc, "dynamodb", QuotaUnavailable) from exc

    def _charge(self, key: str, seconds: int, budget: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": {"S": key}},
                "UpdateExpression": (
                    "ADD #count :seconds SET expires_at = if_not_exists(expires_at, :expires)"
                ),
                # The whole cap must fit in what is left of the budget.
                "ConditionExpression": "attribute_not_exists(#count) OR #count <= :most",
                "ExpressionAttributeNames": {"#count": "count"},
                "ExpressionAttributeValues": {
                    ":seconds": {"N": str(seconds)},
                    ":most": {"N": str(budget - seconds)},
                    ":expires": {"N": str(_day_end(key) + RECORD_SLACK_SECONDS)},
                },
            }
        }

    def _refund(self, key: str, seconds: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": {"S": key}},
                "UpdateExpression": "ADD #count :minus",
                "ConditionExpression": "attribute_exists(#count)",
                "ExpressionAttributeNames": {"#count": "count"},
                "ExpressionAttributeValues": {":minus": {"N": str(-seconds)}},
            }
        }


def _lease_key(visitor: str, slot: int) -> str:
    return f"lease#{visitor}#{slot}"


def _seconds_key(visitor: str, day: str) -> str:
    return f"callsec#{visitor}#{day}"


def _call_key(call_id: str) -> str:
    return f"call#{call_id}"


def _day_end(key: str) -> int:
    day = dt.date.fromisoformat(key.rsplit("#", 1)[1])
    return int(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp())


def _record_item(call: CallRecord, expires: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": _call_key(call.call_id)},
        "visitor": {"S": call.visitor},
        "slot": {"N": str(call.slot)},
        "day": {"S": call.day},
        "started_at": {"N": str(call.started_at)},
        "ends_at": {"N": str(call.ends_at)},
        "charged_seconds": {"N": str(call.charged_seconds)},
        "state": {"S": call.state},
        "expires_at": {"N": str(expires)},
    }
    if call.openai_call_id:
        item["openai_call_id"] = {"S": call.openai_call_id}
    return item


def _record(item: dict[str, Any]) -> CallRecord:
    state = item["state"]["S"]
    return CallRecord(
        call_id=item["pk"]["S"].removeprefix("call#"),
        visitor=item["visitor"]["S"],
        slot=int(item["slot"]["N"]),
        day=item["day"]["S"],
        started_at=int(item["started_at"]["N"]),
        ends_at=int(item["ends_at"]["N"]),
        charged_seconds=int(item["charged_seconds"]["N"]),
        state="live" if state == "live" else "ended" if state == "ended" else "pending",
        openai_call_id=item.get("openai_call_id", {}).get("S"),
    )


def _old_ends_at(old_item: dict[str, Any] | None) -> int | None:
    if not old_item or "ends_at" not in old_item:
        return None
    return int(old_item["ends_at"]["N"])
