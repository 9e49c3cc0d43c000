"""`async def` tests here run as in tests/standin: each in its own event loop (aiortc peers need one)."""

from __future__ import annotations

import pytest

from tests.async_runner import run_coroutine_test

# A relayed call lives for the stack's cap (10 s) and a test may start two: more than tests/standin's
# 20 s, still a bound on a hung WebRTC exchange.
TEST_TIMEOUT_SECONDS = 60


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    return run_coroutine_test(pyfuncitem, TEST_TIMEOUT_SECONDS)
