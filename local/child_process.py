"""One way to run the local stack's helper processes (moto, the OpenAI stand-in, the OpenID
Connect provider): a fixed command whose seeds, if any, go in on stdin (never the command line, which
`ps` shows), which answers one JSON line on stdout once it serves, and which exits when its stdin
closes, so it never outlives the process that started it.
"""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self


def read_line(stream: Any, timeout: float) -> str | None:
    """One line from a child's pipe, or None at EOF or after `timeout` seconds."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout) or None
    except queue.Empty:
        return None


def node_command(script: Path, node: str | None, error: type[Exception]) -> list[str]:
    """`node <script>` with the given Node.js, else the one on PATH; `error` when there is none."""
    found = node or shutil.which("node")
    if found is None:
        raise error("node is not on PATH (scripts/bootstrap --node installs Node.js)")
    return [found, str(script)]


class PipedChild:
    """`start()` launches `command` and returns its ready line as a JSON object; `stop()` ends it.

    A child that exits, prints nothing within the timeout, or prints anything but a JSON object is
    stopped, and `error` is raised naming `what`, its exit code and what it printed.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        cwd: Path,
        what: str,
        error: type[Exception] = RuntimeError,
        stop_timeout: float = 5.0,
    ) -> None:
        self.command = list(command)
        self.cwd = cwd
        self.what = what
        self.error = error
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[str] | None = None

    @property
    def process(self) -> subprocess.Popen[str] | None:
        """The running child (None before `start()` and after `stop()`)."""
        return self._process

    def start(self, timeout: float, seeds: Any = None) -> dict[str, Any]:
        """Starts the child, writes `seeds` (JSON) as its first stdin line if given, and waits for its
        ready line."""
        process = subprocess.Popen(  # noqa: S603 - our own programs, fixed command lines
            self.command, cwd=self.cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self._process = process
        try:
            if seeds is not None:
                assert process.stdin is not None  # noqa: S101 - Popen(stdin=PIPE)
                process.stdin.write(json.dumps(seeds) + "\n")
                process.stdin.flush()
            return self.read_json(timeout)
        except BaseException:
            self.stop()
            raise

    def read_json(self, timeout: float) -> dict[str, Any]:
        """The child's next stdout line, which must be a JSON object."""
        process = self._process
        if process is None or process.stdout is None:
            raise self.error(f"{self.what} is not running")
        line = read_line(process.stdout, timeout)
        try:
            answer = json.loads(line or "")
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise self.error(
                f"{self.what} did not start within {timeout:g} s (exit code {process.poll()}); "
                f"it printed {line!r}"
            )
        return answer

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()  # the child exits when its stdin closes
        try:
            process.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RunsAsChild:
    """A stand-in that is one PipedChild: `start()` returns it running, `stop()` and `with` end it."""

    _child: PipedChild | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
