"""The Responses stream events a `response.event` wraps, shaped as GPT-Live sends them.

Lifecycle snapshots omit `input` and clear `instructions`, `tools` and `output` ("to keep messages
small", `ResponseEvent`'s docstring); the items come in `response.output_item.done`.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from ..ids import new_id
from ..usage import text_tokens


class BackendResponse:
    """One Responses turn of the backend model: its id, its events' sequence numbers, its usage."""

    def __init__(self, model: str, input_tokens: int) -> None:
        self.id = new_id("resp_", 24)
        self.model = model
        self.created_at = int(time.time())
        self.input_tokens = input_tokens
        self.output_tokens = 0
        self._sequence = itertools.count()

    def _snapshot(self, status: str, usage: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "model": self.model,
            "status": status,
            "output": [],
            "tools": [],
            "instructions": None,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "metadata": {},
            "error": None,
            "incomplete_details": None,
            "usage": usage,
        }

    def _event(self, event_type: str, **fields: Any) -> dict[str, Any]:
        return {"type": event_type, "sequence_number": next(self._sequence), **fields}

    def created(self) -> dict[str, Any]:
        return self._event("response.created", response=self._snapshot("in_progress", None))

    def item_done(self, output_index: int, item: dict[str, Any]) -> dict[str, Any]:
        self.output_tokens += text_tokens(str(item.get("arguments") or _item_text(item)))
        return self._event("response.output_item.done", output_index=output_index, item=item)

    def completed(self) -> dict[str, Any]:
        usage = {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.input_tokens + self.output_tokens,
        }
        return self._event("response.completed", response=self._snapshot("completed", usage))


def _item_text(item: dict[str, Any]) -> str:
    return " ".join(part.get("text", "") for part in item.get("content") or [])


def function_call_item(name: str, arguments: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": new_id("fc_", 24),
        "call_id": new_id("call_", 12),
        "name": name,
        "arguments": arguments,
        "status": "completed",
    }


def message_item(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": new_id("msg_", 24),
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def web_search_item(query: str) -> dict[str, Any]:
    return {
        "type": "web_search_call",
        "id": new_id("ws_", 24),
        "status": "completed",
        "action": {"type": "search", "query": query},
    }
