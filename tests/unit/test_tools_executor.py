"""Every function call gets one short answer for the model, whatever the tool does; the log line names
the tool, the outcome and the duration, and nothing the model or the visitor sent."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any

import pytest

from vend.tools import Describe, InvalidArguments, Tool, by_name
from vend.tools.executor import FAILED, TOO_LONG, ToolOutcome, run_tool_call

MARKER = "visitor-said-Zebra-4711"


@dataclass(frozen=True, slots=True)
class Echo:
    text: Annotated[str, Describe("What to echo")]


def echo(args: Echo) -> str:
    return f"echo: {args.text}"


def tool(run: Any, *, name: str = "echo", ends_call: bool = False) -> dict[str, Tool[Any]]:
    return by_name(
        [Tool(name=name, description="Echoes text.", arguments=Echo, run=run, ends_call=ends_call)]
    )


def call(tools: dict[str, Tool[Any]], arguments: dict[str, Any] | str, *, timeout: float = 2) -> ToolOutcome:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return run_tool_call(tools, next(iter(tools)), text, timeout=timeout)


def log_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The executor's log lines as their fields (what Powertools prints as JSON)."""
    return [
        {"message": r.getMessage(), **{k: v for k, v in r.__dict__.items() if k not in STANDARD}}
        for r in caplog.records
        if r.getMessage() == "tool_call"
    ]


STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def test_a_tool_s_output_goes_back_as_is(caplog: pytest.LogCaptureFixture) -> None:
    outcome = call(tool(echo), {"text": MARKER})

    assert outcome == ToolOutcome(f"echo: {MARKER}", ok=True, ends_call=False)
    [line] = log_lines(caplog)
    assert (line["message"], line["tool"], line["outcome"]) == ("tool_call", "echo", "ok")
    assert isinstance(line["duration_ms"], float | int)
    assert MARKER not in json.dumps(line)


def test_an_unknown_tool_is_named_to_the_model_and_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    outcome = run_tool_call(tool(echo), "send_email", "{}", timeout=2)

    assert outcome == ToolOutcome("There is no tool named send_email.", ok=False, ends_call=False)
    [line] = log_lines(caplog)
    assert (line["tool"], line["outcome"]) == ("unknown", "unknown_tool")
    assert "send_email" not in json.dumps(line)


def test_invalid_arguments_tell_the_model_what_was_wrong_and_never_run_the_tool(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[Echo] = []

    outcome = call(tool(lambda args: ran.append(args) or "ran"), {"text": 3, "note": MARKER})

    assert outcome == ToolOutcome("Invalid arguments: unknown argument 'note'.", ok=False, ends_call=False)
    assert ran == []
    [line] = log_lines(caplog)
    assert line["outcome"] == "invalid_arguments"
    assert MARKER not in json.dumps(line)


def test_the_tool_itself_can_refuse_an_argument() -> None:
    def refuse(args: Echo) -> str:
        raise InvalidArguments("'text' must name a colour.")

    assert call(tool(refuse), {"text": "x"}) == ToolOutcome(
        "Invalid arguments: 'text' must name a colour.", ok=False, ends_call=False
    )


def test_a_tool_that_blocks_is_cut_off_at_the_timeout(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    started = time.monotonic()

    outcome = call(tool(lambda args: "late" if release.wait(30) else "never"), {"text": "x"}, timeout=0.2)

    waited = time.monotonic() - started
    release.set()  # the abandoned worker thread ends with the test
    assert outcome == ToolOutcome(TOO_LONG, ok=False, ends_call=False)
    assert "took too long" in outcome.output
    assert waited < 5  # it returned while the tool was still blocked, not when the tool did
    [line] = log_lines(caplog)
    assert line["outcome"] == "timed_out"


def test_an_exception_reaches_the_model_as_a_short_failure_without_its_detail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def crash(args: Echo) -> str:
        raise RuntimeError(f"database password hunter2 rejected for {args.text} at /var/task/vend/db.py")

    outcome = call(tool(crash), {"text": MARKER})

    assert outcome == ToolOutcome(FAILED, ok=False, ends_call=False)
    [line] = log_lines(caplog)
    assert line["outcome"] == "failed"
    logged = caplog.text + json.dumps(log_lines(caplog), default=str)
    for leaked in ("Traceback", "hunter2", MARKER, "db.py", "RuntimeError"):
        assert leaked not in outcome.output
        assert leaked not in logged


@pytest.mark.parametrize("escape", [SystemExit(3), KeyboardInterrupt()])
def test_even_a_base_exception_in_a_tool_is_only_a_failed_call(escape: BaseException) -> None:
    def escape_hatch(args: Echo) -> str:
        raise escape

    assert call(tool(escape_hatch), {"text": "x"}) == ToolOutcome(FAILED, ok=False, ends_call=False)


def test_a_tool_that_returns_no_text_has_failed() -> None:
    assert call(tool(lambda args: {"text": args.text}), {"text": "x"}) == ToolOutcome(
        FAILED, ok=False, ends_call=False
    )


def test_a_call_ending_tool_ends_the_call_only_when_it_succeeded() -> None:
    hang_up = tool(echo, name="hang_up", ends_call=True)

    assert call(hang_up, {"text": "bye"}) == ToolOutcome("echo: bye", ok=True, ends_call=True)
    assert call(hang_up, {"text": 1}).ends_call is False
