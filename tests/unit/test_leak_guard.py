"""The run-wide guard (tests/conftest.py) really sees a secret in log records and in captured output."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from tests import conftest

KEY = "sk-test-canary-CCCCCCCCCCCCCCCCCCCCCCCC"


def take_findings(since: int) -> list[str]:
    found = conftest._leaks[since:]
    del conftest._leaks[since:]  # they were planted by this test: don't fail the run for them
    return found


def test_guard_sees_a_key_in_a_logger_that_does_not_propagate() -> None:
    quiet = logging.getLogger("guard.demo")
    quiet.propagate, quiet.handlers = False, [logging.NullHandler()]  # invisible to pytest's own capture
    before = len(conftest._leaks)

    quiet.warning("connecting with %s", KEY)
    quiet.warning("minted", extra={"client_secret": "ek_0123456789abcdef"})

    found = take_findings(before)
    assert len(found) == 2
    assert all("guard.demo" in leak and KEY not in leak for leak in found)


def test_guard_sees_a_client_secret_in_captured_output() -> None:
    before = len(conftest._leaks)
    report = SimpleNamespace(
        nodeid="demo", sections=[("Captured stdout call", '{"value": "ek_abcdef123456"}')]
    )

    conftest.pytest_runtest_logreport(report)  # type: ignore[arg-type]

    assert len(take_findings(before)) == 1


def test_guard_ignores_masked_and_short_values() -> None:
    before = len(conftest._leaks)
    logging.getLogger("guard.demo").warning("key sk-…abcd, fingerprint 1a2b3c4d5e6f, OpenAIApiKey('****')")

    assert take_findings(before) == []
