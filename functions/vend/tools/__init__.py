"""Server tools: small functions the companion runs when the model calls them (docs/tools.md)."""

from vend.tools.executor import ToolOutcome, run_tool_call
from vend.tools.registry import KNOWN, by_name, enabled
from vend.tools.schema import Describe, InvalidArguments
from vend.tools.tool import Tool

__all__ = [
    "KNOWN",
    "Describe",
    "InvalidArguments",
    "Tool",
    "ToolOutcome",
    "by_name",
    "enabled",
    "run_tool_call",
]
