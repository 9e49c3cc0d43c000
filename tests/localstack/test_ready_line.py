"""`scripts/local --ready-json`: the stack's stdout is its ready line and nothing else, so a program can
read the first line; every log, the handler's Powertools lines and the bootstrap's included, goes to
stderr."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import urllib.request

from local.child_process import read_line
from local.stack_options import REPO


def test_stdout_is_the_ready_line_alone_and_the_handlers_logs_go_to_stderr() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("OPENAI_API_KEY", None)  # the stand-in mints
    with tempfile.TemporaryFile("w+", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [str(REPO / "scripts" / "local"), "--ready-json", "--port", "0"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        assert process.stdout is not None
        try:
            first = read_line(process.stdout, timeout=120)
            ready = json.loads(first or "null")
            assert isinstance(ready, dict), first
            assert ready["ready"] is True
            request = urllib.request.Request(  # noqa: S310 - the stack's loopback URL
                f"{ready['url']}api/session",
                data=b"{}",
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                assert response.status == 200
                assert json.loads(response.read())["value"].startswith("ek_")
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
        rest = process.stdout.read()
        process.stdout.close()
        stderr.seek(0)
        logs = [json.loads(line) for line in stderr.read().splitlines() if line.startswith("{")]

    assert rest == ""  # nothing after the ready line: not the mint's logs, not the shutdown
    # The mint was logged, to stderr.
    assert any(log.get("message") == "request" and log.get("outcome") == "minted" for log in logs), logs
