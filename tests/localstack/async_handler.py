"""A Lambda handler for the tests of local.lambda_invoke: the event says what it does.

- `{"do": "describe"}` returns what the invocation saw: its context and the environment the stack gave it;
- `{"do": "raise"}` raises, as a crashed companion does;
- `{"do": "meet", "group": G, "parties": N}` returns once N invocations of group G are running at the
  same time (a barrier), and raises if they never are: invocations run one at a time would fail it;
- `{"do": "until_deadline", "margin_ms": M}` returns once its remaining time is at most M, as a
  companion hands over before its deadline (and, given `"report_to": PATH`, writes its result there,
  for a test that outlives the stack);
- `{"do": "overrun", "seconds": S}` runs S seconds whatever its deadline.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

# Environment variables `describe` reports (names the stack sets, none of them secret).
REPORTED_ENVIRONMENT = ("AWS_ENDPOINT_URL_LAMBDA", "COMPANION_FUNCTION_NAME", "OPENAI_BASE_URL")
_barriers: dict[str, threading.Barrier] = {}
_barriers_lock = threading.Lock()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    action = event.get("do")
    if action == "describe":
        return {
            "remaining_ms": context.get_remaining_time_in_millis(),
            "request_id": context.aws_request_id,
            "function_name": context.function_name,
            "thread": threading.current_thread().name,
            "environment": {name: os.environ.get(name) for name in REPORTED_ENVIRONMENT},
        }
    if action == "raise":
        raise RuntimeError("the handler was told to fail")
    if action == "meet":
        with _barriers_lock:
            barrier = _barriers.setdefault(event["group"], threading.Barrier(int(event["parties"])))
        barrier.wait(timeout=float(event.get("timeout", 10)))  # BrokenBarrierError if never together
        return {"met": event["group"]}
    if action == "until_deadline":
        while context.get_remaining_time_in_millis() > int(event.get("margin_ms", 100)):
            time.sleep(0.02)
        result = {"remaining_ms": context.get_remaining_time_in_millis()}
        if "report_to" in event:
            Path(event["report_to"]).write_text(json.dumps(result), encoding="utf-8")
        return result
    if action == "overrun":
        time.sleep(float(event["seconds"]))
        return {"overran": True}
    raise ValueError(f"unknown action {action!r}")
