"""Function tools in a session or a response, checked as OpenAI checks them.

The SDK's `RealtimeFunctionToolParam` is a TypedDict with every key optional, so the type alone
accepts `{}`; OpenAI requires a name of at most 64 letters, digits, `_` or `-`, unique in the list,
and `parameters`, when given, must be a JSON Schema of `type: "object"`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .strict import StrictValidationError, join

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _check_function(tool: Mapping[str, Any], path: str, seen: set[str]) -> None:
    name = tool.get("name")
    if name is None:
        raise StrictValidationError(
            f"Missing required parameter: '{join(path, 'name')}'.",
            join(path, "name"),
            "missing_required_parameter",
        )
    if not isinstance(name, str) or not _NAME.match(name):
        raise StrictValidationError(
            f"Invalid '{join(path, 'name')}': string does not match pattern. "
            "Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.",
            join(path, "name"),
            "invalid_value",
        )
    if name in seen:
        raise StrictValidationError(
            f"Invalid '{join(path, 'name')}': duplicate function name {name!r}.",
            join(path, "name"),
            "invalid_value",
        )
    seen.add(name)
    if "parameters" in tool:
        schema = tool["parameters"]
        kind = schema.get("type") if isinstance(schema, Mapping) else None
        if kind != "object":
            raise StrictValidationError(
                f"Invalid schema for function {name!r}: schema must be a JSON Schema of 'type: \"object\"', "
                f"got 'type: \"{kind}\"'.",
                join(path, "parameters"),
                "invalid_function_parameters",
            )


def check_tools(tools: Any, root: str) -> None:
    """Raise StrictValidationError for the first tool OpenAI would refuse (`root`: the list's path)."""
    if not isinstance(tools, list):
        return
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        if isinstance(tool, Mapping) and tool.get("type", "function") == "function":
            _check_function(tool, join(root, index), seen)
