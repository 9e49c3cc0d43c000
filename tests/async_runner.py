"""Runs an `async def` test in an event loop of its own (pytest-asyncio is not a dependency).

A thread of its own, too: Playwright's sync API (the browser suite) keeps an event loop running on the
main thread for the whole session, and asyncio.run() refuses to start inside it. A conftest's
`pytest_pyfunc_call` hook calls `run_coroutine_test` with its suite's bound on a hung test.
"""

from __future__ import annotations

import asyncio
import inspect
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest


def run_coroutine_test(pyfuncitem: pytest.Function, timeout_seconds: float) -> bool | None:
    """True when it ran the test; None for a plain test, which pytest then runs itself."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    wanted = inspect.signature(pyfuncitem.obj).parameters
    arguments: dict[str, Any] = {name: pyfuncitem.funcargs[name] for name in wanted}
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, asyncio.wait_for(pyfuncitem.obj(**arguments), timeout_seconds)).result()
    return True
