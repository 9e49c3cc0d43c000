"""A DynamoDB table as contention sees it: item locks, and transactions cancelled when they overlap.

Local emulators (moto, DynamoDB Local) run one request at a time, so two transactions never overlap and
`TransactionConflict` never happens there. Real DynamoDB runs them concurrently and, instead of
waiting, cancels a transaction that meets an item held by another transaction or by a single-item write
(docs: "Transaction conflict handling in DynamoDB"), and a single-item write that meets an item held
by a transaction fails with `TransactionConflictException`. botocore retries neither. This model does
the same, with the hold times as parameters:

- a transaction holds all its items for `transaction_hold` (10-25 ms: two-phase commit across
  storage nodes), then checks its conditions and writes them all, or none;
- a single-item write (UpdateItem, PutItem) holds its item for `single_hold` (1 ms: a partition
  takes about 1,000 writes a second); single writes to one item queue behind each other, as DynamoDB
  serialises them, and never cancel each other;
- reads (GetItem, BatchGetItem) see the last committed state and hold nothing;
- every request also pays a network round trip (`network`, split before and after).

It is a client object with the boto3 methods the usage table's code calls, answering with the same
shapes (ClientError with `CancellationReasons`), so UsageTable, CallLedger and SpendLedger run against
it unchanged. The expressions are those grammars' subset that code uses (tests/dynamodb/test_scale_model.py
checks the model against moto's server on each of them).
"""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

Item = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Timing:
    transaction_hold: tuple[float, float] = (0.010, 0.025)
    single_hold: tuple[float, float] = (0.0008, 0.0012)
    network: tuple[float, float] = (0.002, 0.005)  # one round trip, client to DynamoDB and back


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)
    conflicts: Counter[str] = field(default_factory=Counter)  # conflicting items, by the item's kind
    cancelled: Counter[str] = field(default_factory=Counter)  # requests refused for a conflict, by operation


class ModelDynamoDB:
    def __init__(
        self, timing: Timing = Timing(), *, seed: int = 1, sleep: Callable[[float], None] = time.sleep
    ):
        self.items: dict[str, Item] = {}
        self.stats = Stats()
        self._timing = timing
        self._sleep = sleep
        self._random = random.Random(seed)  # noqa: S311 - a simulation, not a secret
        self._mutex = threading.Condition()
        self._held: dict[str, str] = {}  # pk → "tx" or "single"
        self._ids = itertools.count()

    # --- the boto3 surface --------------------------------------------------------------------

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self._count("TransactWriteItems")
        self._half_trip()
        actions = [_action(entry) for entry in TransactItems]
        keys = [action.pk for action in actions]
        with self._mutex:
            conflicting = [pk for pk in keys if pk in self._held]
            if conflicting:
                self.stats.cancelled["TransactWriteItems"] += 1
                for pk in conflicting:
                    self.stats.conflicts[_kind(pk)] += 1
                reasons = [
                    {"Code": "TransactionConflict"} if pk in self._held else {"Code": "None"} for pk in keys
                ]
            else:
                for pk in keys:
                    self._held[pk] = "tx"
        if conflicting:
            self._half_trip()
            raise _cancelled(reasons)
        try:
            self._sleep(self._uniform(self._timing.transaction_hold))
            with self._mutex:
                reasons = []
                failed = False
                for action in actions:
                    ok = action.condition_holds(self.items.get(action.pk))
                    failed = failed or not ok
                    reason: dict[str, Any] = {"Code": "None" if ok else "ConditionalCheckFailed"}
                    if not ok and action.return_old and action.pk in self.items:
                        reason["Item"] = self.items[action.pk]
                    reasons.append(reason)
                if not failed:
                    for action in actions:
                        action.apply(self.items)
        finally:
            with self._mutex:
                for pk in keys:
                    self._held.pop(pk, None)
                self._mutex.notify_all()
        self._half_trip()
        if failed:
            raise _cancelled(reasons)
        return {}

    def update_item(self, **request: Any) -> dict[str, Any]:
        return self._single("UpdateItem", {"Update": request})

    def put_item(self, **request: Any) -> dict[str, Any]:
        return self._single("PutItem", {"Put": request})

    def get_item(self, **request: Any) -> dict[str, Any]:
        self._count("GetItem")
        self._half_trip()
        with self._mutex:
            item = self.items.get(request["Key"]["pk"]["S"])
        self._half_trip()
        return {"Item": dict(item)} if item else {}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self._count("BatchGetItem")
        self._half_trip()
        responses: dict[str, list[Item]] = {}
        with self._mutex:
            for table, request in RequestItems.items():
                found = [self.items.get(key["pk"]["S"]) for key in request["Keys"]]
                responses[table] = [dict(item) for item in found if item]
        self._half_trip()
        return {"Responses": responses, "UnprocessedKeys": {}}

    # --- single-item writes -------------------------------------------------------------------

    def _single(self, operation: str, entry: dict[str, Any]) -> dict[str, Any]:
        self._count(operation)
        self._half_trip()
        action = _action(entry)
        with self._mutex:
            while self._held.get(action.pk) == "single":  # DynamoDB serialises writes to one item
                self._mutex.wait()
            if self._held.get(action.pk) == "tx":
                self.stats.cancelled[operation] += 1
                self.stats.conflicts[_kind(action.pk)] += 1
                conflict = True
            else:
                self._held[action.pk] = "single"
                conflict = False
        if conflict:
            self._half_trip()
            raise _error(operation, "TransactionConflictException", "Transaction is ongoing for the item")
        try:
            self._sleep(self._uniform(self._timing.single_hold))
            with self._mutex:
                ok = action.condition_holds(self.items.get(action.pk))
                if ok:
                    action.apply(self.items)
        finally:
            with self._mutex:
                self._held.pop(action.pk, None)
                self._mutex.notify_all()
        self._half_trip()
        if not ok:
            raise _error(operation, "ConditionalCheckFailedException", "The conditional request failed")
        return {}

    def _count(self, operation: str) -> None:
        with self._mutex:
            self.stats.requests[operation] += 1

    def _half_trip(self) -> None:
        self._sleep(self._uniform(self._timing.network) / 2)

    def _uniform(self, bounds: tuple[float, float]) -> float:
        with self._mutex:
            return self._random.uniform(*bounds)


def _kind(pk: str) -> str:
    """The item's role, for the conflict counts: day, visitor, lease, call, callsec#day, spend#day, …"""
    parts = pk.split("#")
    if parts[0] == "spend":
        return f"spend#{parts[1]}"
    if parts[0] == "callsec":
        return "callsec#day" if parts[1] == "day" else "callsec#visitor"
    return parts[0]


def _cancelled(reasons: list[dict[str, Any]]) -> ClientError:
    codes = ", ".join(reason["Code"] for reason in reasons)
    error = _error(
        "TransactWriteItems",
        "TransactionCanceledException",
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
    )
    error.response["CancellationReasons"] = reasons  # type: ignore[typeddict-unknown-key]
    return error


def _error(operation: str, code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


# --- one write: its key, its condition, its effect ------------------------------------------------


@dataclass
class _Action:
    kind: str  # Put, Update, Delete, ConditionCheck
    pk: str
    request: dict[str, Any]

    @property
    def return_old(self) -> bool:
        return self.request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"

    def condition_holds(self, item: Item | None) -> bool:
        condition = self.request.get("ConditionExpression")
        if not condition:
            return True
        return _Condition(condition, self._names(), self._values(), item or {}).evaluate()

    def apply(self, items: dict[str, Item]) -> None:
        if self.kind == "Put":
            items[self.pk] = dict(self.request["Item"])
        elif self.kind == "Delete":
            items.pop(self.pk, None)
        elif self.kind == "Update":
            item = dict(items.get(self.pk) or {"pk": {"S": self.pk}})
            _update(item, self.request["UpdateExpression"], self._names(), self._values())
            items[self.pk] = item

    def _names(self) -> dict[str, str]:
        return dict(self.request.get("ExpressionAttributeNames") or {})

    def _values(self) -> dict[str, dict[str, Any]]:
        return dict(self.request.get("ExpressionAttributeValues") or {})


def _action(entry: dict[str, Any]) -> _Action:
    ((kind, request),) = entry.items()
    key = request["Item"]["pk"] if kind == "Put" else request["Key"]["pk"]
    return _Action(kind, key["S"], request)


_TOKEN = re.compile(r"\s*(<>|<=|>=|[=<>(),]|[#:]?[A-Za-z_][A-Za-z0-9_]*)")


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise ValueError(f"model cannot parse {text[position:]!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


class _Condition:
    """attribute_exists/attribute_not_exists, comparisons, AND/OR/NOT and parentheses."""

    def __init__(self, text: str, names: dict[str, str], values: dict[str, Any], item: Item) -> None:
        self._tokens = _tokens(text)
        self._at = 0
        self._names, self._values, self._item = names, values, item

    def evaluate(self) -> bool:
        result = self._or()
        if self._at != len(self._tokens):
            raise ValueError(f"model: trailing tokens {self._tokens[self._at :]}")
        return result

    def _peek(self) -> str | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def _take(self) -> str:
        token = self._tokens[self._at]
        self._at += 1
        return token

    def _or(self) -> bool:
        result = self._and()
        while (self._peek() or "").upper() == "OR":
            self._take()
            right = self._and()
            result = result or right
        return result

    def _and(self) -> bool:
        result = self._not()
        while (self._peek() or "").upper() == "AND":
            self._take()
            right = self._not()
            result = result and right
        return result

    def _not(self) -> bool:
        if (self._peek() or "").upper() == "NOT":
            self._take()
            return not self._not()
        return self._primary()

    def _primary(self) -> bool:
        token = self._take()
        if token == "(":
            result = self._or()
            self._take()  # ")"
            return result
        if token in {"attribute_exists", "attribute_not_exists"}:
            self._take()  # "("
            present = _name(self._take(), self._names) in self._item
            self._take()  # ")"
            return present if token == "attribute_exists" else not present
        left = self._operand(token)
        operator = self._take()
        right = self._operand(self._take())
        if left is None or right is None:
            return False
        return _compare(left, operator, right)

    def _operand(self, token: str) -> Any:
        if token.startswith(":"):
            return _plain(self._values[token])
        value = self._item.get(_name(token, self._names))
        return None if value is None else _plain(value)


def _compare(left: Any, operator: str, right: Any) -> bool:
    if type(left) is not type(right):
        return operator == "<>"
    return {
        "=": left == right,
        "<>": left != right,
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[operator]


def _update(item: Item, text: str, names: dict[str, str], values: dict[str, Any]) -> None:
    """SET path = :v | path | if_not_exists(path, :v), …  ADD path :n, …"""
    tokens = _tokens(text)
    clause, at = "", 0
    while at < len(tokens):
        token = tokens[at]
        if token.upper() in {"SET", "ADD"}:
            clause, at = token.upper(), at + 1
            continue
        if token == ",":
            at += 1
            continue
        target = _name(token, names)
        if clause == "ADD":
            amount = Decimal(values[tokens[at + 1]]["N"])
            old = Decimal(item[target]["N"]) if target in item else Decimal(0)
            item[target] = {"N": str(old + amount)}
            at += 2
        elif clause == "SET":
            source = tokens[at + 2]  # tokens[at + 1] is "="
            if source == "if_not_exists":
                path, default = _name(tokens[at + 4], names), values[tokens[at + 6]]
                item[target] = item.get(path, default)
                at += 8
            else:
                item[target] = values[source] if source.startswith(":") else item[_name(source, names)]
                at += 3
        else:
            raise ValueError(f"model cannot apply {text!r}")


def _name(token: str, names: dict[str, str]) -> str:
    return names[token] if token.startswith("#") else token


def _plain(value: dict[str, Any]) -> Any:
    if "N" in value:
        return Decimal(value["N"])
    if "S" in value:
        return value["S"]
    raise ValueError(f"model: unsupported value {value}")
