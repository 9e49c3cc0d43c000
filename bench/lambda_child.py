"""The child side of a benchmark run: what the Lambda runtime does around our handler.

Runs in the runtime venv, started by the parent already inside the init CPU cap. Standard library only,
and little of it, so that it adds next to nothing to the init being measured.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class Context:
    """The fields of Lambda's context object that Powertools reads."""

    function_name = "realtime-vend-VendFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:realtime-vend-VendFunction"
    log_group_name = "/aws/lambda/realtime-vend-vend"
    log_stream_name = "2026/11/24/[$LATEST]bench"

    def __init__(self, aws_request_id: str, memory_limit_in_mb: int) -> None:
        self.aws_request_id = aws_request_id
        self.memory_limit_in_mb = memory_limit_in_mb

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def init(module_name: str) -> tuple[Handler, float]:
    """Imports the handler module; returns its lambda_handler and the init time in ms, counted from
    the parent's spawn (interpreter start included, as in Lambda's Init Duration)."""
    _trust_bench_ca()
    module = importlib.import_module(module_name)
    spawned_ns = int(os.environ["BENCH_SPAWNED_NS"])
    return module.lambda_handler, (time.monotonic_ns() - spawned_ns) / 1e6


def cpu_ms() -> float:
    """CPU time this process has used (since the exec that started it): unlike wall time, not
    inflated by other processes competing for the machine's cores."""
    return time.process_time() * 1000


def _trust_bench_ca() -> None:
    # A bench-only device: httpx verifies against certifi.where(), and the fake OpenAI's certificate is
    # signed by a throwaway CA. Point certifi at a bundle holding its roots plus that CA, before
    # anything imports httpx, so that TLS is verified and paid for as against api.openai.com.
    import certifi  # noqa: PLC0415

    bundle = os.environ["BENCH_CA_BUNDLE"]
    certifi.where = lambda: bundle


def enter_invoke_share() -> None:
    """Moves this process, all its threads, under the invoke cap (MemorySize/1769 vCPU)."""
    with open(os.environ["BENCH_INVOKE_PROCS"], "w") as procs:
        procs.write(str(os.getpid()))


def invoke(handler: Handler, event: dict[str, Any], number: int) -> float:
    """One invocation; its duration in ms. A failed mint ends the benchmark (it would time nothing)."""
    context = Context(f"bench-{number:06d}", int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]))
    started = time.perf_counter()
    response = handler(event, context)
    elapsed = (time.perf_counter() - started) * 1000
    body = json.loads(response.get("body") or "{}")
    if response.get("statusCode") != 200 or not str(body.get("value", "")).startswith("ek_"):
        error = body.get("error") if isinstance(body, dict) else None
        raise SystemExit(f"mint {number} failed: {response.get('statusCode')} {error}")
    return elapsed


def service_calls() -> dict[str, int]:
    """The fakes' request and connection counts so far (plain HTTP on loopback: a millisecond or so)."""
    import http.client  # noqa: PLC0415 - botocore has imported it already
    from urllib.parse import urlsplit  # noqa: PLC0415

    url = urlsplit(os.environ["BENCH_CALLS_URL"])
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=5)
    try:
        connection.request("GET", "/")
        counts: dict[str, int] = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    return counts


def load_event(path: str) -> dict[str, Any]:
    with open(path) as file:
        event: dict[str, Any] = json.load(file)
    return event


def report(figures: dict[str, Any]) -> None:
    """Results go to a file named by the parent: stdout is the function's log stream."""
    with open(os.environ["BENCH_RESULT"], "w") as file:
        json.dump(figures, file)
    sys.stdout.flush()
