"""When the stand-in's model calls a function tool, with which arguments, and what it says after.

The trigger rule (documented for the companion, the page and the benches): with `tool_choice`
"auto" or "required", a user turn (typed `input_text`, or the transcript of a spoken turn) calls
the first declared function tool whose name, with underscores read as spaces, it contains
("get current time"), case-insensitively. Failing that, a hint: the word "time" calls the first
tool whose name contains "time", and "goodbye" or "bye" calls `end_call`. `tool_choice`
`{"type": "function", "name": …}` calls that tool on every user turn, "required" the first
declared one when nothing matched, and "none" never calls one.
After a `function_call_output` the next response speaks "Here is what I found: <output>".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_TIME_WORD = re.compile(r"\btime\b", re.IGNORECASE)
_GOODBYE = re.compile(r"\b(good)?bye\b", re.IGNORECASE)
_ZONE_NAMES = frozenset({"time_zone", "timezone", "tz", "zone"})


@dataclass(frozen=True)
class Speak:
    text: str


@dataclass(frozen=True)
class CallTool:
    name: str
    arguments: str


def _function_tools(tools: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [tool for tool in tools if tool.get("type") == "function" and isinstance(tool.get("name"), str)]


def pick_tool(text: str, tools: Sequence[Mapping[str, Any]], tool_choice: Any) -> Mapping[str, Any] | None:
    functions = _function_tools(tools)
    if tool_choice == "none" or not functions:
        return None
    if isinstance(tool_choice, Mapping) and tool_choice.get("type") == "function":
        return next((t for t in functions if t["name"] == tool_choice.get("name")), None)
    lowered = text.lower()
    for tool in functions:
        if tool["name"].replace("_", " ").lower() in lowered:
            return tool
    if _TIME_WORD.search(text):
        found = next((t for t in functions if "time" in t["name"].lower()), None)
        if found is not None:
            return found
    if _GOODBYE.search(text):
        found = next((t for t in functions if t["name"] == "end_call"), None)
        if found is not None:
            return found
    return functions[0] if tool_choice == "required" else None


_SIMPLEST: dict[str, Any] = {"boolean": False, "null": None}


def _example(name: str, schema: Mapping[str, Any]) -> Any:
    """A value of `schema`: the first enum value, else the simplest one of its type."""
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "string":
        return "UTC" if name.lower() in _ZONE_NAMES else "example"
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "object":
        return build_arguments(schema)
    return [] if kind == "array" else _SIMPLEST.get(str(kind))


def build_arguments(schema: Any) -> dict[str, Any]:
    """Arguments that satisfy a JSON Schema object: every required property, nothing else."""
    if not isinstance(schema, Mapping):
        return {}
    properties = schema.get("properties") or {}
    return {
        name: _example(name, properties.get(name) or {"type": "string"})
        for name in schema.get("required") or []
    }


def decide(
    context: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]],
    tool_choice: Any,
    heard: Callable[[Mapping[str, Any]], str | None],
    reply_to: Callable[[str | None], str],
) -> Speak | CallTool:
    """What the model does next, from the conversation it reads (newest item last)."""
    called_since_user = False
    for item in reversed(context):
        kind = item.get("type")
        if kind == "function_call_output":
            return Speak(f"Here is what I found: {item.get('output', '')}")
        if kind == "function_call":
            called_since_user = True
        elif kind == "message" and item.get("role") == "user":
            text = heard(item)
            tool = None if called_since_user or text is None else pick_tool(text, tools, tool_choice)
            if tool is not None:
                return CallTool(tool["name"], json.dumps(build_arguments(tool.get("parameters"))))
            return Speak(reply_to(text))
    return Speak(reply_to(None))
