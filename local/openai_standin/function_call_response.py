"""A response whose output is one function call instead of speech, event by event as OpenAI sends it."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from .ids import new_id
from .responder import Emit, Response, response_object
from .usage import Output, text_tokens

# The arguments arrive in this many deltas, this far apart: enough to see streaming, short
# enough that a tool round trip is dominated by the tool.
ARGUMENT_DELTAS = 2
DELTA_INTERVAL = 0.02


class FunctionCallRunner:
    def __init__(self, response: Response, emit: Emit, name: str, arguments: str) -> None:
        self.response = response
        self.name = name
        self.arguments = arguments
        self.call_id = new_id("call_", 16)
        self._emit = emit
        self._status = "completed"
        self._status_details: dict[str, Any] | None = None

    def _item(self, status: str, arguments: str) -> dict[str, Any]:
        return {
            "id": self.response.item_id,
            "object": "realtime.item",
            "type": "function_call",
            "status": status,
            "call_id": self.call_id,
            "name": self.name,
            "arguments": arguments,
        }

    def _ids(self) -> dict[str, Any]:
        return {
            "response_id": self.response.id,
            "item_id": self.response.item_id,
            "output_index": 0,
            "call_id": self.call_id,
        }

    async def run(self) -> None:
        emit, request = self._emit, self.response.request
        emit(
            {
                "type": "response.created",
                "response": response_object(self.response, "in_progress", None, [], None),
            }
        )
        added = self._item("in_progress", "")
        emit(
            {
                "type": "response.output_item.added",
                "response_id": self.response.id,
                "output_index": 0,
                "item": added,
            }
        )
        if request.conversation is not None:
            previous = request.conversation.add(copy.deepcopy(added))
            emit({"type": "conversation.item.added", "previous_item_id": previous, "item": added})
        try:
            size = -(-len(self.arguments) // ARGUMENT_DELTAS)
            for start in range(0, len(self.arguments), size or 1):
                emit(
                    {
                        "type": "response.function_call_arguments.delta",
                        **self._ids(),
                        "delta": self.arguments[start : start + size],
                    }
                )
                await asyncio.sleep(DELTA_INTERVAL)
        except asyncio.CancelledError:
            if self.response.cancel_reason is None:
                raise  # the call is closing: nobody is listening any more
            self._status = "cancelled"
            self._status_details = {"type": "cancelled", "reason": self.response.cancel_reason}
        self._finish()

    def _finish(self) -> None:
        emit, request = self._emit, self.response.request
        # OpenAI sends `arguments.done` also when the response was interrupted.
        emit(
            {
                "type": "response.function_call_arguments.done",
                **self._ids(),
                "name": self.name,
                "arguments": self.arguments,
            }
        )
        item = self._item("completed" if self._status == "completed" else "incomplete", self.arguments)
        emit(
            {
                "type": "response.output_item.done",
                "response_id": self.response.id,
                "output_index": 0,
                "item": item,
            }
        )
        if request.conversation is not None:
            request.conversation.replace(copy.deepcopy(item))
            emit({"type": "conversation.item.done", "item": item})
        usage = request.usage(Output(text_tokens(self.name) + text_tokens(self.arguments), 0))
        emit(
            {
                "type": "response.done",
                "response": response_object(self.response, self._status, self._status_details, [item], usage),
            }
        )
