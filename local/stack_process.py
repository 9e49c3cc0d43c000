"""`StackProcess`: the local stack in a child interpreter, for synchronous callers (pytest fixtures,
the benchmarks). The handler reads its environment once at import, so each stack gets a fresh
interpreter; the child's stdout carries its ready line (`--ready-json`) and nothing else."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from typing import Any

from local.stack_options import REPO


class StackProcess:
    """Runs the stack in a child interpreter and waits until it is serving.

    For synchronous callers (pytest fixtures, the benchmark). Faults are injected over HTTP:
    `POST {url}__local/faults` here and `{standin_url}/__standin/...` on the stand-in. `ready` is the
    whole ready line (`--ready-json`): the pause switch is `pause_parameter` in SSM at `aws_endpoint`,
    the calls' schedules are in `schedule_group` there, and `kill_switch()` ends every live call.
    """

    def __init__(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        # Longer than its parts' own (60 s): on a loaded machine (two cores, a browser suite beside it)
        # a start has taken over 30 s; a part that fails says why before this gives up.
        startup_timeout: float = 90.0,
        quota_per_visitor: int | None = None,
        quota_window_seconds: int | None = None,
        daily_cap: int | None = None,
        paused: bool = False,
        mode: str | None = None,
        concurrent_calls: int | None = None,
        max_call_seconds: int | None = None,
        call_minutes_per_visitor: int | None = None,
        call_minutes_per_day: int | None = None,
        call_dollars_per_visitor: str | None = None,
        call_dollars_per_day: str | None = None,
        tools: str | None = None,
        voice_api: str | None = None,
    ) -> None:
        self._args = list(args)
        for flag, value in (
            ("--quota-per-visitor", quota_per_visitor),
            ("--quota-window-seconds", quota_window_seconds),
            ("--daily-cap", daily_cap),
            ("--mode", mode),
            ("--concurrent-calls", concurrent_calls),
            ("--max-call-seconds", max_call_seconds),
            ("--call-minutes-per-visitor", call_minutes_per_visitor),
            ("--call-minutes-per-day", call_minutes_per_day),
            ("--call-dollars-per-visitor", call_dollars_per_visitor),
            ("--call-dollars-per-day", call_dollars_per_day),
            ("--tools", tools),
            ("--voice-api", voice_api),
        ):
            if value is not None:
                self._args += [flag, str(value)]
        if paused:
            self._args.append("--paused")
        self._env = env
        self._timeout = startup_timeout
        self._process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self._reader: threading.Thread | None = None
        self.url = ""
        self.execute_api = ""
        self.standin_url: str | None = None
        self.ready: dict[str, Any] = {}

    def __enter__(self) -> StackProcess:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        env = dict(os.environ if self._env is None else self._env)
        env["PYTHONUNBUFFERED"] = "1"
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
            [sys.executable, "-m", "local.stack", "--ready-json", *self._args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._process = process
        # A reader thread, so a silent child cannot block us past the timeout, and its pipe never fills.
        self._reader = threading.Thread(
            target=self._read, args=(process,), name="local-stack-stdout", daemon=True
        )
        self._reader.start()
        # Its stdout is the ready line only (every log goes to its stderr): the first line, or nothing.
        first: str | None = None
        with contextlib.suppress(queue.Empty):
            first = self._lines.get(timeout=self._timeout)
        with contextlib.suppress(ValueError):
            ready = json.loads(first or "")
            if isinstance(ready, dict) and ready.get("ready"):
                self.ready = ready
                self.url = ready["url"]
                self.execute_api = ready["execute_api"]
                self.standin_url = ready.get("standin_url")
                return
        tail = self.stderr_tail
        self.stop()
        raise RuntimeError(f"the local stack did not start (its first stdout line: {first!r}):\n{tail}")

    def kill_switch(self, timeout: float = 60.0) -> dict[str, Any]:
        """Ends every live call: the operator function's `end_all_calls` (`{"ended": N}`), run in the stack.

        The same as `POST {ready["operator_url"]}` with `{"action": "end_all_calls"}`, which is what
        `aws lambda invoke --function-name <OperatorFunction>` does deployed.
        """
        return self.invoke_operator({"action": "end_all_calls"}, timeout=timeout)

    def invoke_operator(self, event: Mapping[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        """The operator function's answer to `event`; RuntimeError with its error if it failed."""
        import urllib.error  # noqa: PLC0415 - 60 ms of imports every stack start would pay
        import urllib.request  # noqa: PLC0415

        request = urllib.request.Request(  # noqa: S310 - our own loopback URL
            self.ready["operator_url"],
            data=json.dumps(event).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                answer: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise RuntimeError(
                f"the operator function failed: {exc.read().decode(errors='replace')}"
            ) from exc
        return answer

    @property
    def stderr_tail(self) -> str:
        """The end of the child's stderr, for error reports."""
        if self._stderr.closed:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()[-4000:]

    def _read(self, process: subprocess.Popen[str]) -> None:
        if process.stdout is None:
            return
        for line in process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def stop(self) -> None:
        """Stops the child as Ctrl-C would (it shuts its servers down cleanly) and closes our pipes."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if self._reader is not None:
                self._reader.join(timeout=5)
            if process.stdout is not None:
                process.stdout.close()
        if not self._stderr.closed:
            self._stderr.close()
