"""Fixtures shared by every suite, and the run-wide guard against secrets in any log line.

The guard sees every log record of the whole run (whatever logger, whether it propagates or not) and
every test's captured stdout/stderr, and fails the session if an OpenAI key or a client secret shows up.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
EVENTS = REPO / "events"
# Shaped like real values: `sk-` keys of 20+ characters and `ek_` client secrets.
SECRET_IN_TEXT = re.compile(r"(sk-[A-Za-z0-9_\-]{20,}|ek_[A-Za-z0-9_\-]{8,})")

_leaks: list[str] = []


def _scan(where: str, text: str) -> None:
    for match in SECRET_IN_TEXT.finditer(text):
        _leaks.append(f"{where}: …{text[max(0, match.start() - 60) : match.start()]}<SECRET>")


_original_call_handlers = logging.Logger.callHandlers


def _call_handlers_and_scan(self: logging.Logger, record: logging.LogRecord) -> None:
    _original_call_handlers(self, record)
    try:
        text = record.getMessage()
    except Exception:  # a malformed record is the logging module's problem, not a leak
        text = str(record.msg)
    # extras (Powertools puts structured fields there) and the formatted exception, if any
    extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD_RECORD_FIELDS}
    exc = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
    _scan(f"log record from {self.name!r}", f"{text} {extras!r} {exc}")


_STANDARD_RECORD_FIELDS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def pytest_sessionstart(session: pytest.Session) -> None:
    logging.Logger.callHandlers = _call_handlers_and_scan  # type: ignore[method-assign]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A log record that leaked during this phase fails the test that logged it. Under pytest-xdist
    this is how a worker's leak reaches the run's outcome: only reports travel back to the controller
    (which scans their captured output itself, in pytest_runtest_logreport)."""
    outcome = yield
    if len(_leaks) > _blamed[0]:
        report: pytest.TestReport = outcome.get_result()
        report.outcome = "failed"
        report.longrepr = "\n".join(
            ["SECRET LEAK GUARD: an API key or client secret appeared:", *_leaks[_blamed[0] :][:20]]
        )
        _blamed[0] = len(_leaks)


_blamed = [0]  # how many of _leaks a test report already carries


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for section, content in report.sections:
        _scan(f"{report.nodeid} {section}", content)


# How pytest-xdist shares the work (scripts/test runs `-n 4 --dist loadscope`): a module is a unit its
# fixtures start once for (a local stack, a built example), so it runs whole in one worker, and
# tests/samlocal is one unit: it starts one Docker daemon on a fixed socket. The browser suite's stacks
# and browsers are per session, so its tests spread one by one (each parametrized test whole), except
# in the modules with fixtures of their own per module. Suites that take longest start first, so that
# no worker begins one of them when the rest are nearly done.
_SHARED_UNITS = {"samlocal": "tests/samlocal"}
_SPREAD_SUITES = {"browser"}
_MODULE_FIXTURES = {
    "tests/browser/test_agents_example.py",
    "tests/browser/test_sign_in.py",
    "tests/browser/test_live_call.py",
    "tests/browser/test_live_cap.py",
    "tests/browser/test_live_standby.py",
}
_LONGEST_FIRST = ("samlocal", "browser", "quota", "localstack", "deploy", "security", "docs")


def _unit_of(nodeid: str) -> str:
    path, _, test = nodeid.partition("::")
    parts = path.split("/")
    suite = parts[1] if len(parts) > 2 else ""
    if suite in _SPREAD_SUITES and path not in _MODULE_FIXTURES:
        return f"{path}::{test.split('[', 1)[0]}"
    return _SHARED_UNITS.get(suite, path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling  # only when xdist runs

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit_of(nodeid)

    return ModuleScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> tuple[int, int]:
        parts = item.nodeid.split("/")
        suite = parts[1] if len(parts) > 2 else ""
        by_suite = _LONGEST_FIRST.index(suite) if suite in _LONGEST_FIRST else len(_LONGEST_FIRST)
        # Within a spread suite, a module that runs whole (its stacks are per module) is one long unit:
        # started first, it is not the last thing a worker is still doing when the others are idle.
        whole_module = item.nodeid.partition("::")[0] in _MODULE_FIXTURES
        return by_suite, 0 if whole_module else 1

    items.sort(key=rank)  # stable: each module's own order is kept


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.Logger.callHandlers = _original_call_handlers  # type: ignore[method-assign]
    if _leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = ["SECRET LEAK GUARD: an API key or client secret appeared in log output:", *_leaks[:20]]
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# The variables every deployed function has beside the key's ARN (template.yaml sets them all). Secret
# names work wherever ARNs do; tests/functional creates resources under exactly these names.
REQUIRED_ENV = {
    "ORIGIN_VERIFY_SECRET_ARN": "realtime-vend/origin-verify",
    "VISITOR_KEY_SECRET_ARN": "realtime-vend/visitor-key",
    "QUOTA_TABLE_NAME": "realtime-vend-quota",
    "PAUSE_PARAMETER_NAME": "/realtime-vend/paused",
    "HANGUP_FUNCTION_ARN": "arn:aws:lambda:us-east-1:123456789012:function:realtime-vend-HangupFunction",
    "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/realtime-vend-SchedulerRole",
    "SCHEDULE_GROUP_NAME": "realtime-vend-calls",
}


def documented_event_outcomes() -> dict[str, tuple[int, str]]:
    """events/README.md's table: file -> (status, error code or "")."""
    rows = re.findall(r"^\| (\S+\.json) \| (\d{3}) \| (\w*) ?\|$", (EVENTS / "README.md").read_text(), re.M)
    return {name: (int(status), code) for name, status, code in rows}


def load_event(name: str) -> dict[str, Any]:
    """An API Gateway HTTP API event from events/, exactly as `sam local invoke -e` would send it."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def standin_env() -> dict[str, str]:
    """This process's environment for a local stack that never talks to OpenAI: the stand-in answers."""
    env = dict(os.environ)
    env.pop("OPENAI_API_KEY", None)
    return env


def call_offer() -> str:
    """events/call-offer.json's SDP offer (Chrome's), decoded from the base64 API Gateway forwards."""
    return base64.b64decode(load_event("call-offer")["body"]).decode()


class FakeLambdaContext:
    function_name = "realtime-vend-VendFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:realtime-vend-VendFunction"
    memory_limit_in_mb = 256
    aws_request_id = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    log_group_name = "/aws/lambda/realtime-vend-VendFunction"
    log_stream_name = "2026/11/24/[$LATEST]abcdef"

    def __init__(self, timeout_ms: int = 10_000) -> None:
        self.timeout_ms = timeout_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


SAM = REPO / ".venv-tools" / "bin" / "sam"


def _python313_dir() -> str | None:
    """Where python3.13 (the Lambda runtime, whose bytecode the build ships) is: PATH or pyenv."""
    found = shutil.which("python3.13")
    if found and subprocess.run([found, "-V"], capture_output=True, check=False).returncode == 0:
        return str(Path(found).parent)
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [d for d in sorted(pyenv.glob("versions/3.13*/bin")) if (d / "python3.13").exists()]
    return str(candidates[0]) if candidates else None


def run_sam_build(build_dir: Path, *args: str) -> Path:
    """`sam build` of the whole template into `build_dir`, as a user runs it; returns `build_dir`."""
    assert SAM.exists(), "run scripts/bootstrap --tools first (SAM CLI lives in .venv-tools)"
    python_dir = _python313_dir()
    assert python_dir, "the artifact's bytecode needs python3.13 (the Lambda runtime): on PATH or in pyenv"
    env = {**os.environ, "PATH": f"{python_dir}:{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run(
        [
            str(SAM),
            "build",
            "--build-dir",
            str(build_dir),
            "--template-file",
            str(REPO / "template.yaml"),
            *args,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return build_dir


@pytest.fixture(scope="session")
def sam_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real `sam build` of the whole template for the run; returns its build directory."""
    return run_sam_build(tmp_path_factory.mktemp("sam-build"))
