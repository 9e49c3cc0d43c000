"""Responses delegation: the backend model the Live session hands tasks to.

The trigger rule is the Realtime stand-in's (tool_calls.py) on the backend's declared tools: a
user turn that names a function tool ("get current time"), or a hint ("time", "bye"), makes the
voice model delegate. A spoken turn that asks for no tool is answered by the voice model itself; a
typed one (`response.item.create` user message + `response.create`) always goes to the backend.
With `web_search` declared, a turn with "search", "look up", "latest" or "news" (and no function
match) runs the hosted search: its `web_search_call` item needs no output.

A function call waits for `response.item.create` `function_call_output` plus `response.create`
(from a sideband or a permitted page); then a second backend response carries the assistant
message and the voice speaks it. Each backend response ends with `response.completed`, with usage
and the backend model. `session.close` drops pending work.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ..function_call_ledger import FunctionCallLedger
from ..ids import new_id
from ..tool_calls import build_arguments, pick_tool
from .backend_events import BackendResponse, function_call_item, message_item, web_search_item
from .create_request import estimate_tokens
from .live_session import error_event

Emit = Callable[[dict[str, Any]], None]
ACKNOWLEDGEMENT = "One moment, let me check that."
_SEARCH_WORDS = re.compile(r"\b(search|look up|latest|news)\b", re.IGNORECASE)


def backend_answer(text: str) -> str:
    return f'The backend read: "{text}". This is the local Responses backend answering.'


def search_answer(query: str) -> str:
    return f'I searched the web for "{query}" and found the local stand-in\'s canned result.'


class ResponsesBackend:
    def __init__(
        self,
        delegation: Callable[[], dict[str, Any]],
        emit: Emit,
        say: Callable[[str], Any],
        timeline_ms: Callable[[], int],
    ) -> None:
        self._delegation = delegation
        self._emit = emit
        self._say = say
        self._timeline_ms = timeline_ms
        self.function_calls = FunctionCallLedger()
        self._items: list[dict[str, Any]] = []  # the backend's conversation: typed and delegated turns
        self._pending: dict[str, str] = {}  # call_id -> delegation id, awaiting an output
        self._outputs: dict[str, str] = {}  # call_id -> output, received, not yet used
        self._new_user_text: str | None = None
        self.closed = False

    @property
    def _config(self) -> dict[str, Any]:
        responses: dict[str, Any] = self._delegation()["responses"]
        return responses

    def _tools(self) -> list[dict[str, Any]]:
        return list(self._config.get("tools") or [])

    def _wrap(self, delegation_id: str, event: dict[str, Any]) -> None:
        self._emit({"type": "response.event", "delegation_id": delegation_id, "event": event})

    def _input_tokens(self, text: str) -> int:
        instructions = self._config.get("instructions") or ""
        history = sum(estimate_tokens(json.dumps(item)) for item in self._items)
        return estimate_tokens(instructions) + history + estimate_tokens(text)

    def _start(self, text: str) -> tuple[str, BackendResponse]:
        delegation_id = new_id("dlg_", 12)
        response = BackendResponse(self._config["model"], self._input_tokens(text))
        self._emit(
            {
                "type": "session.delegation.created",
                "offset_ms": self._timeline_ms(),
                "delegation": {
                    "id": delegation_id,
                    "type": "delegation",
                    "target": "responses",
                    "response_id": response.id,
                },
            }
        )
        self._wrap(delegation_id, response.created())
        return delegation_id, response

    # -- user turns --------------------------------------------------------------------------------

    def spoken_turn(self, text: str) -> bool:
        """A spoken turn: True if the voice model delegated it (it asks for a tool)."""
        if self.closed:
            return False
        tool = pick_tool(text, self._tools(), self._config.get("tool_choice", "auto"))
        if tool is None and not self._wants_search(text):
            return False
        self._items.append({"type": "message", "role": "user", "content": text})
        self._run(text)
        return True

    def _wants_search(self, text: str) -> bool:
        declared = any(tool.get("type") == "web_search" for tool in self._tools())
        return declared and _SEARCH_WORDS.search(text) is not None

    def _run(self, text: str) -> None:
        """One backend turn for `text`: a function call, a web search, or an answer."""
        delegation_id, response = self._start(text)
        # The automatic spoken acknowledgement, at once (the stand-in ignores acknowledgement_delay_ms).
        self._say(ACKNOWLEDGEMENT)
        tool = pick_tool(text, self._tools(), self._config.get("tool_choice", "auto"))
        if tool is not None:
            arguments = json.dumps(build_arguments(tool.get("parameters")))
            item = function_call_item(tool["name"], arguments)
            self._wrap(delegation_id, response.item_done(0, item))
            self._wrap(delegation_id, response.completed())
            self.function_calls.called(item["call_id"], item["name"], arguments, response.id)
            self._pending[item["call_id"]] = delegation_id
            self._items.append(item)
            return
        outputs: list[dict[str, Any]] = []
        if self._wants_search(text):
            outputs.append(web_search_item(text))
            answer = search_answer(text)
        else:
            answer = backend_answer(text)
        outputs.append(message_item(answer))
        for index, item in enumerate(outputs):
            self._wrap(delegation_id, response.item_done(index, item))
        self._wrap(delegation_id, response.completed())
        self._items.extend(outputs)
        self._say(answer)

    # -- client events ------------------------------------------------------------------------------

    def _refuse_without_responses(self, event: dict[str, Any], reply: Emit) -> bool:
        if self._delegation().get("type") == "responses":
            return False
        reply(
            error_event(
                f"'{event['type']}' requires Responses delegation (session.delegation.type 'responses').",
                "invalid_value",
                "type",
                event.get("event_id"),
            )
        )
        return True

    def item_create(self, event: dict[str, Any], reply: Emit, source: str) -> None:
        if self._refuse_without_responses(event, reply):
            return
        item = event["item"]
        kind = item.get("type", "message")
        if kind == "function_call_output":
            call_id = item["call_id"]
            self.function_calls.output(call_id, "sideband" if source == "sideband" else "data_channel")
            if call_id not in self._pending:
                reply(
                    error_event(
                        f"No tool call found for function call output with call_id {call_id}.",
                        "invalid_value",
                        "item.call_id",
                        event.get("event_id"),
                    )
                )
                return
            output = item["output"]
            self._outputs[call_id] = output if isinstance(output, str) else json.dumps(output)
        elif kind == "message" and item.get("role") == "user":
            self._new_user_text = _message_text(item)
        self._items.append(item)

    def response_create(self, event: dict[str, Any], reply: Emit, source: str) -> None:
        if self._refuse_without_responses(event, reply):
            return
        answered = [call_id for call_id in self._pending if call_id in self._outputs]
        waiting = [call_id for call_id in self._pending if call_id not in self._outputs]
        if answered:
            self._continue(answered)
        elif waiting:
            reply(
                error_event(
                    f"The backend is waiting for the output of call {waiting[0]}: send a "
                    "function_call_output with response.item.create first.",
                    "invalid_value",
                    None,
                    event.get("event_id"),
                )
            )
        elif self._new_user_text is not None:
            text, self._new_user_text = self._new_user_text, None
            self._run(text)
        else:
            reply(
                error_event(
                    "Nothing to respond to: add a user message with response.item.create first.",
                    "invalid_value",
                    None,
                    event.get("event_id"),
                )
            )

    def _continue(self, call_ids: list[str]) -> None:
        """The outputs arrived: the backend's next response, then the voice speaks it."""
        delegation_id = self._pending[call_ids[0]]
        outputs = [self._outputs.pop(call_id) for call_id in call_ids]
        for call_id in call_ids:
            del self._pending[call_id]
        answer = "Here is what I found: " + " ".join(outputs)
        response = BackendResponse(self._config["model"], self._input_tokens(answer))
        self._wrap(delegation_id, response.created())
        item = message_item(answer)
        self._wrap(delegation_id, response.item_done(0, item))
        self._wrap(delegation_id, response.completed())
        self._items.append(item)
        self._say(answer)

    def close(self) -> None:
        """`session.close` cancels queued Responses work; a call waiting for its output cannot finish."""
        self.closed = True
        self._pending.clear()
        self._outputs.clear()


def _message_text(item: dict[str, Any]) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") for part in content or [] if isinstance(part, dict))
