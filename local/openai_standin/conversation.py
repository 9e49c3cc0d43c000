"""The call's conversation: items in order, as `conversation.item.*` events describe them."""

from __future__ import annotations

import copy
from typing import Any

from .ids import new_id


class Conversation:
    def __init__(self) -> None:
        self.id = new_id("conv_", 11)
        self._items: list[dict[str, Any]] = []

    def items(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self._items)

    def last_id(self) -> str | None:
        return self._items[-1]["id"] if self._items else None

    def add(self, item: dict[str, Any], previous_item_id: str | None = None) -> str | None:
        """Append (or insert after `previous_item_id`); returns the id of the item before it."""
        if previous_item_id is None:
            before = self.last_id()
            self._items.append(item)
            return before
        index = self.index(previous_item_id)
        self._items.insert(index + 1, item)
        return previous_item_id

    def add_first(self, item: dict[str, Any]) -> None:
        self._items.insert(0, item)

    def index(self, item_id: str) -> int:
        for index, item in enumerate(self._items):
            if item.get("id") == item_id:
                return index
        raise KeyError(item_id)

    def get(self, item_id: str) -> dict[str, Any]:
        return self._items[self.index(item_id)]

    def delete(self, item_id: str) -> None:
        del self._items[self.index(item_id)]

    def replace(self, item: dict[str, Any]) -> None:
        self._items[self.index(item["id"])] = item


def as_realtime_item(item: dict[str, Any]) -> dict[str, Any]:
    """A client-created item as the server reports it: with id, object and status."""
    result = copy.deepcopy(item)
    result.setdefault("id", new_id("item_", 11))
    result["object"] = "realtime.item"
    if result.get("type") in ("message", "function_call", "function_call_output"):
        result.setdefault("status", "completed")
    return result
