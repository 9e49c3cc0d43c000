"""Run `async def` tests in their own event loop (pytest-asyncio is not a dependency)."""

from __future__ import annotations

import asyncio
import inspect
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

# A hung WebRTC exchange fails its test instead of the whole run.
TEST_TIMEOUT_SECONDS = 20


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    wanted = inspect.signature(pyfuncitem.obj).parameters
    arguments: dict[str, Any] = {name: pyfuncitem.funcargs[name] for name in wanted}
    # A thread of its own: Playwright's sync API (the browser suite) keeps an event loop running on the
    # main thread for the whole session, and asyncio.run() refuses to start inside it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, asyncio.wait_for(pyfuncitem.obj(**arguments), TEST_TIMEOUT_SECONDS)).result()
    return True
