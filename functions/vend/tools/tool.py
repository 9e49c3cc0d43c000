"""A server tool: a name, a description for the model, an arguments dataclass and the function to run."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from vend.tools.schema import Field, fields_of, parameters_schema, parse_arguments

_A = TypeVar("_A")
# What settings.py accepts in TOOLS, and what OpenAI accepts as a function name.
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True, slots=True)
class Tool(Generic[_A]):
    """`run` gets the validated arguments and returns the text the model reads.

    It raises InvalidArguments for a value the schema cannot express (an unknown time zone); any other
    exception is a failure the model hears about only as "the tool failed".
    """

    name: str
    # When and how to call it, and what to tell the user: the model decides from this alone.
    description: str
    arguments: type[_A]
    run: Callable[[_A], str]
    # True: once the model has answered the output (a goodbye), the companion hangs the call up.
    ends_call: bool = False
    fields: tuple[Field, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise TypeError(f"tool name {self.name!r}: lowercase letters, digits and _, at most 64")
        if not self.description.strip():
            raise TypeError(f"tool {self.name} needs a description")
        # the schema is derived here, at import, so a malformed tool fails the cold start, not a call
        object.__setattr__(self, "fields", fields_of(self.arguments))

    def definition(self) -> dict[str, Any]:
        """The Realtime GA function tool (openai-python `RealtimeFunctionToolParam`) for session.tools."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": parameters_schema(self.fields),
        }

    def parse(self, arguments_json: str) -> _A:
        return parse_arguments(self.arguments, self.fields, arguments_json)
