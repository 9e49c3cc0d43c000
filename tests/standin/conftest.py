"""Run `async def` tests in their own event loop (pytest-asyncio is not a dependency)."""

from __future__ import annotations

import pytest

from tests.async_runner import run_coroutine_test

# A hung WebRTC exchange fails its test instead of the whole run.
TEST_TIMEOUT_SECONDS = 20


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    return run_coroutine_test(pyfuncitem, TEST_TIMEOUT_SECONDS)
