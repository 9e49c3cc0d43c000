"""One function call from the model, executed: the text the model reads back, whatever happens.

The tool runs in a daemon worker thread so that the timeout holds even for blocking code; a tool that
never returns is abandoned, not joined (it cannot hold the companion or its exit). Logged per call:
the tool's name, the outcome and the duration, never the arguments, the output or an exception's
message (any of them may carry what the visitor said).
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from vend.observability import logger
from vend.tools.schema import InvalidArguments
from vend.tools.tool import Tool

Outcome = Literal["ok", "unknown_tool", "invalid_arguments", "timed_out", "failed"]
TOO_LONG = "The tool took too long to answer; tell the user it is not available right now."
FAILED = "The tool failed; tell the user it could not be done right now."


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What goes back as the function_call_output, and what the companion does next."""

    output: str
    ok: bool
    ends_call: bool  # hang up once the model's reply to this output is done


def run_tool_call(
    tool_by_name: Mapping[str, Tool[Any]], name: str, arguments_json: str, *, timeout: float
) -> ToolOutcome:
    """Run the model's call of `name` with its `arguments` string; never raises for the tool's sake."""
    started = time.perf_counter()
    tool = tool_by_name.get(name)
    if tool is None:
        outcome: Outcome = "unknown_tool"
        result = ToolOutcome(f"There is no tool named {_shortened(name)}.", ok=False, ends_call=False)
    else:
        outcome, result = _run(tool, arguments_json, timeout)
    logger.info(
        "tool_call",
        extra={
            # the model's own string only when it names a tool we have: it is not ours to log otherwise
            "tool": name if tool is not None else "unknown",
            "outcome": outcome,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
    return result


def _run(tool: Tool[Any], arguments_json: str, timeout: float) -> tuple[Outcome, ToolOutcome]:
    try:
        arguments = tool.parse(arguments_json)
    except InvalidArguments as invalid:
        return "invalid_arguments", _invalid(invalid)
    future: concurrent.futures.Future[str] = concurrent.futures.Future()
    threading.Thread(
        target=_work, args=(tool, arguments, future), name=f"tool-{tool.name}", daemon=True
    ).start()
    try:
        output = future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        return "timed_out", ToolOutcome(TOO_LONG, ok=False, ends_call=False)
    except InvalidArguments as invalid:
        return "invalid_arguments", _invalid(invalid)
    except Exception:
        return "failed", ToolOutcome(FAILED, ok=False, ends_call=False)
    if not isinstance(output, str):
        return "failed", ToolOutcome(FAILED, ok=False, ends_call=False)
    return "ok", ToolOutcome(output, ok=True, ends_call=tool.ends_call)


def _work(tool: Tool[Any], arguments: Any, future: concurrent.futures.Future[str]) -> None:
    try:
        future.set_result(tool.run(arguments))
    except Exception as error:  # handed to the waiting caller, which reports it without detail
        future.set_exception(error)
    except BaseException:  # SystemExit and the like: a failed tool, never the companion's own exit
        future.set_exception(RuntimeError("the tool raised a BaseException"))


def _invalid(invalid: InvalidArguments) -> ToolOutcome:
    return ToolOutcome(f"Invalid arguments: {invalid}", ok=False, ends_call=False)


def _shortened(text: str, limit: int = 64) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
