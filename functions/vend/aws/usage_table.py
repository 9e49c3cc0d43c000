"""The stack's one DynamoDB table: mint counters, and how every write to it is made.

It holds what the stack and each visitor have used: the client-secret counters (here), the relayed
calls' leases, call-second budgets and records (aws/call_ledger.py) and their metered dollars
(aws/spend_ledger.py). Every counter write is an `ADD` under the condition that it still fits, so
concurrent requests can never push a counter past its limit.

Contention decides how each item is written (docs/limits.md, "Counters under load"). DynamoDB cancels
a transaction that overlaps another transaction, or a single-item write, on the same item
(`TransactionConflict`), and botocore does not retry that. So an item that every request of the stack
writes (the day's mint counter, the day's call-seconds) is never put in a transaction: it gets one
conditional `UpdateItem`, which DynamoDB serialises per item instead of cancelling. A mint is two such
updates, the visitor's counter first and then the day's, and the visitor's is given back if the day's
is full: the visitor's counter is only ever written by that visitor's own requests, and the day's is
only charged for a mint its visitor may make. Transactions remain for items of one visitor or one
call (a lease with its record), where only that visitor's own requests can meet, and a conflict there
is retried briefly. Throttling or an unreachable table ends in QuotaUnavailable: the limit fails closed.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from vend.aws.failures import error_code, translated
from vend.errors import QuotaUnavailable
from vend.usage import Counter, CounterFull

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_CLIENT_CONFIG = Config(
    connect_timeout=1, read_timeout=1, retries={"mode": "standard", "total_max_attempts": 2}
)
PREFETCH_KEY = "prefetch#connection"
CONFLICT_RETRIES = 4  # conflicts resolve in milliseconds; more attempts only hold a slot longer


class UsageTable:
    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb", config=_CLIENT_CONFIG)
        self._sleep = sleep

    @property
    def client(self) -> DynamoDBClient:
        """The one DynamoDB client of the environment (the call ledger shares it)."""
        return self._client

    def connect(self) -> None:
        """Open the TLS connection at init (one GetItem of a key that never exists), so the first
        request's transaction does not pay the handshake on a fraction of a vCPU. Raises on failure."""
        try:
            self._client.get_item(
                TableName=self._table, Key={"pk": {"S": PREFETCH_KEY}}, ProjectionExpression="pk"
            )
        except Exception as exc:
            raise translated(exc, "dynamodb", QuotaUnavailable) from exc

    def increment(self, counters: Sequence[Counter]) -> None:
        """Add one to every counter, in order, or to none: raises CounterFull naming the first full one
        (the ones before it are given back)."""
        for index, counter in enumerate(counters):
            try:
                self.update(self._update(counter, +1, bounded=True)["Update"])
            except CounterFull:
                self._give_back(counters[:index])
                raise CounterFull(index) from None
            except Exception:
                self._give_back(counters[:index])
                raise

    def decrement(self, counters: Sequence[Counter]) -> None:
        """Give back what `increment` took (a mint that OpenAI then failed); raises the first failure
        after trying every counter."""
        failure: Exception | None = None
        for counter in counters:
            try:
                self.update(self._update(counter, -1, bounded=False)["Update"])
            except CounterFull:
                continue  # already at zero or expired: nothing to give back
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def _give_back(self, counters: Sequence[Counter]) -> None:
        # The refusal is what the caller must see; a count not given back errs on the safe side.
        with contextlib.suppress(Exception):
            self.decrement(counters)

    def _update(self, counter: Counter, step: int, *, bounded: bool) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"pk": {"S": counter.key}},
            "UpdateExpression": "ADD #count :step SET expires_at = if_not_exists(expires_at, :expires_at)",
            "ExpressionAttributeNames": {"#count": "count"},
            "ExpressionAttributeValues": {
                ":step": {"N": str(step)},
                ":expires_at": {"N": str(counter.expires_at)},
            },
        }
        if bounded:
            update["ConditionExpression"] = "attribute_not_exists(#count) OR #count < :limit"
            update["ExpressionAttributeValues"][":limit"] = {"N": str(counter.limit)}
        else:
            # Never below zero, and never re-create an item TTL already removed.
            update["ConditionExpression"] = "#count > :zero"
            update["ExpressionAttributeValues"][":zero"] = {"N": "0"}
        return {"Update": update}

    def update(self, request: dict[str, Any]) -> None:
        """One conditional UpdateItem; raises CounterFull(0) if its condition failed, QuotaUnavailable /
        ServerMisconfigured otherwise. A conflict with a transaction on the item (an environment still
        running the previous release) is retried like a transaction's."""
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                self._client.update_item(**request)
                return
            except Exception as exc:
                code = error_code(exc)
                if code == "ConditionalCheckFailedException":
                    raise CounterFull(0) from None
                if code != "TransactionConflictException" or attempt == CONFLICT_RETRIES:
                    raise translated(exc, "dynamodb", QuotaUnavailable) from exc
                self._sleep(_backoff(attempt))
        raise QuotaUnavailable("dynamodb_conflict")  # unreachable: the loop returns or raises

    def transact(self, items: list[dict[str, Any]]) -> None:
        """One TransactWriteItems, retried on conflicts; raises CounterFull naming the first failed
        condition, or QuotaUnavailable / ServerMisconfigured."""
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return
            except Exception as exc:
                cancelled = cancellation_reasons(exc)
                if cancelled is None:
                    raise translated(exc, "dynamodb", QuotaUnavailable) from exc
                reasons = [code for code, _ in cancelled]
                if "ConditionalCheckFailed" in reasons:
                    index = reasons.index("ConditionalCheckFailed")
                    raise CounterFull(index, cancelled[index][1]) from None
                if "TransactionConflict" not in reasons or attempt == CONFLICT_RETRIES:
                    raise QuotaUnavailable(f"dynamodb_cancelled_{_first_other(reasons)}") from None
                self._sleep(_backoff(attempt))
        raise QuotaUnavailable("dynamodb_conflict")  # unreachable: the loop returns or raises


def _backoff(attempt: int) -> float:
    return (0.005 + 0.02 * random.random()) * (attempt + 1)  # noqa: S311 - jitter, not a secret


def cancellation_reasons(exc: Exception) -> list[tuple[str, dict[str, Any] | None]] | None:
    """(code, old item) per transaction item, or None if `exc` is not a cancelled transaction."""
    if error_code(exc) != "TransactionCanceledException":
        return None
    reasons = getattr(exc, "response", {}).get("CancellationReasons")
    if not isinstance(reasons, list):
        return []
    result: list[tuple[str, dict[str, Any] | None]] = []
    for reason in reasons:
        if isinstance(reason, dict):
            item = reason.get("Item")
            result.append((str(reason.get("Code", "None")), item if isinstance(item, dict) else None))
        else:
            result.append(("None", None))
    return result


def _first_other(reasons: list[str]) -> str:
    return next((code for code in reasons if code != "None"), "unknown")
