"""The security battery's fixtures (the real handler in-process, as tests/functional runs it) and its
session summary: how many requests each source sent, and the floor of 2000 for the whole battery."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
import respx
from moto import mock_aws

from tests.conftest import REQUIRED_ENV
from tests.fakes.openai_upstream import BASE_URL, FakeCalls, FakeClientSecrets, mount, mount_calls
from tests.functional.conftest import KEY, SECRET_NAME, create_edge_resources
from tests.security.harness import FINDINGS, REQUESTS, STATUSES, Battery, Exchange, LogCapture, leaks

MIN_REQUESTS = 2000
HERE = Path(__file__).resolve().parent
_OURS = (
    "AWS_",
    "POWERTOOLS_",
    "OPENAI_",
    "REALTIME_",
    "CLIENT_SECRET_",
    "TRACING_",
    "QUOTA_",
    "DAILY_",
    "CALL_",
    "MAX_CALL_",
    "CONCURRENT_CALLS_",
)


@contextmanager
def handler_environment(**env: str) -> Iterator[Battery]:
    """One execution environment of the function, cold-started against moto (Secrets Manager, SSM,
    DynamoDB: the stack's resources as tests/functional creates them) and the strict OpenAI fake.
    Quotas are out of the way unless `env` sets them."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name in [name for name in os.environ if name.startswith(_OURS)]:
            patch.delenv(name)
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_METRICS_NAMESPACE": "RealtimeVendTest",
        }.items():
            patch.setenv(name, value)
        edge = create_edge_resources()
        key_arn = boto3.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=KEY)["ARN"]
        upstream = FakeClientSecrets(valid_keys={KEY})
        calls = FakeCalls(valid_keys={KEY})
        with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
            mount(router, upstream)
            mount_calls(router, calls)
            settings = {
                **REQUIRED_ENV,
                **edge.environment(),
                "OPENAI_API_KEY_SECRET_ARN": key_arn,
                "OPENAI_BASE_URL": BASE_URL,
                "QUOTA_PER_VISITOR": "10000",
                "DAILY_CAP": "1000000",
                **env,
            }
            for name, value in settings.items():
                patch.setenv(name, value)
            import vend.observability  # noqa: F401 - the function's logger first: its init lines are captured

            capture = LogCapture()
            capture.start()
            try:
                module = _cold_start()
                init = Exchange(event="init", logs=capture.take())
                assert "init prefetch" in init.logs
                assert not leaks(init), leaks(init)
                yield Battery(module, upstream, capture, calls)
            finally:
                capture.stop()
                providers = sys.modules["vend.providers"]
                if not isinstance(providers.INSTANCE, Exception):
                    providers.INSTANCE.openai.close()


def _cold_start() -> object:
    """Import the handler afresh, as a new execution environment runs its init (tests/functional's way)."""
    previous = sys.modules.get("vend.providers")
    if previous is not None:
        importlib.reload(previous)
    if "vend.app" in sys.modules:
        return importlib.reload(sys.modules["vend.app"])
    return importlib.import_module("vend.app")


@pytest.fixture(scope="module")
def battery() -> Iterator[Battery]:
    """One warm environment per test module, as a deployed function serves request after request."""
    with handler_environment() as environment:
        yield environment


# Relayed calls beside client secrets: CallMode both, two calls at a time per visitor, minutes out of
# the way (every call the battery starts is ended again, so its slots and minutes come back).
CALLING = {
    "CALL_MODE": "both",
    "CONCURRENT_CALLS_PER_VISITOR": "2",
    "MAX_CALL_SECONDS": "600",
    "CALL_MINUTES_PER_VISITOR": "1440",
    "CALL_MINUTES_PER_DAY": "1000000",
}


@pytest.fixture(scope="module")
def calling() -> Iterator[Battery]:
    """One warm environment per test module with both endpoints on (CallMode both)."""
    with handler_environment(**CALLING) as environment:
        yield environment


_battery_files: set[str] = set()
_deselected = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _battery_files.update(str(item.path) for item in items if item.path.parent == HERE)


def pytest_deselected(items: list[pytest.Item]) -> None:
    global _deselected  # noqa: PLW0603 - one flag per session
    _deselected = _deselected or any(item.path.parent == HERE for item in items)


def _whole_battery_ran() -> bool:
    every_file = {str(path) for path in HERE.glob("test_*.py")}
    return not _deselected and every_file <= _battery_files


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REQUESTS:
        return
    total = sum(REQUESTS.values())
    parts = ", ".join(f"{source} {count}" for source, count in sorted(REQUESTS.items()))
    terminalreporter.write_line(f"security battery: {total} requests ({parts})")
    statuses = ", ".join(
        f"{status} {code or ''}".strip() + f" x{n}" for (status, code), n in sorted(STATUSES.items(), key=str)
    )
    terminalreporter.write_line(f"security battery answers: {statuses}")
    found = ", ".join(f"{kind}: {n}" for kind, n in FINDINGS.items()) or "none"
    terminalreporter.write_line(f"security battery findings: {found}")
    if _whole_battery_ran() and total < MIN_REQUESTS:
        terminalreporter.write_line(f"security battery: fewer than {MIN_REQUESTS} requests", red=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        # A pytest-xdist worker ran part of the battery: the controller adds the parts up and judges.
        workeroutput["security_battery"] = {
            "requests": dict(REQUESTS),
            "statuses": [[status, code, n] for (status, code), n in STATUSES.items()],
            "findings": dict(FINDINGS),
            "files": sorted(_battery_files),
            "deselected": _deselected,
        }
        return
    if REQUESTS and _whole_battery_ran() and sum(REQUESTS.values()) < MIN_REQUESTS:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist's controller: one worker's share of the battery, added to the run's."""
    global _deselected  # noqa: PLW0603 - one flag per session
    part = getattr(node, "workeroutput", {}).get("security_battery")
    if not part:
        return
    REQUESTS.update(part["requests"])
    STATUSES.update({(status, code): n for status, code, n in part["statuses"]})
    FINDINGS.update(part["findings"])
    _battery_files.update(part["files"])
    _deselected = _deselected or part["deselected"]
