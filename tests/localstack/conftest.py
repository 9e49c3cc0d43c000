"""`async def` tests here run as in tests/standin: each in its own event loop (aiortc peers need one)."""

from __future__ import annotations

import asyncio
import inspect
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

# A relayed call lives for the stack's cap (10 s) and a test may start two: more than tests/standin's
# 20 s, still a bound on a hung WebRTC exchange.
TEST_TIMEOUT_SECONDS = 60


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    wanted = inspect.signature(pyfuncitem.obj).parameters
    arguments: dict[str, Any] = {name: pyfuncitem.funcargs[name] for name in wanted}
    # A thread of its own, so asyncio.run() never meets another suite's running loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, asyncio.wait_for(pyfuncitem.obj(**arguments), TEST_TIMEOUT_SECONDS)).result()
    return True
