"""`async def` tests here run as in tests/standin: each in its own event loop (aiortc peers need one)."""

from __future__ import annotations

from tests.standin.conftest import pytest_pyfunc_call

__all__ = ["pytest_pyfunc_call"]
