"""The tools this artifact ships, by name, and the ones the TOOLS setting enables.

Adding a tool: a module beside this one that defines `TOOL`, and one entry in `_SHIPPED` (docs/tools.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from vend.settings import SettingsError
from vend.tools import end_call, get_current_time
from vend.tools.tool import Tool

_SHIPPED: tuple[Tool[Any], ...] = (get_current_time.TOOL, end_call.TOOL)
KNOWN: Mapping[str, Tool[Any]] = {tool.name: tool for tool in _SHIPPED}


def enabled(names: Iterable[str]) -> tuple[Tool[Any], ...]:
    """The tools `names` (settings.companions.tools) enables, in that order; an unknown name is a
    SettingsError, so that a typo in the Tools parameter fails the cold start instead of a call."""
    chosen = tuple(dict.fromkeys(names))
    for name in chosen:
        if name not in KNOWN:
            raise SettingsError("TOOLS", f"unknown tool {name}, known: {', '.join(sorted(KNOWN))}")
    return tuple(KNOWN[name] for name in chosen)


def by_name(tools: Iterable[Tool[Any]]) -> dict[str, Tool[Any]]:
    """The executor's lookup table (run_tool_call's `tool_by_name`)."""
    return {tool.name: tool for tool in tools}
