"""Starts a call's companion: one asynchronous Lambda invocation (InvocationType Event).

    {"call_id": "call_…", "generation": 0}

The vend function sends generation 0 right after OpenAI answers; a companion near its own deadline
sends generation + 1 (the hand-over). The OpenAI call id is never in the payload: the companion reads
it from the call record, so it is in no invocation log. Lambda queues the event and retries a
companion that raised, twice.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from vend.aws.failures import error_code

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

# Inside a visitor's request: one quick retry at most, then the Scheduler backstop takes over.
_CLIENT_CONFIG = Config(
    connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2}
)


class CompanionUnavailable(Exception):
    """The companion could not be queued; `reason` (an AWS error code, never a message) is for the log.
    Not a visitor's error: the call goes on, and its scheduled hangup ends it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def companion_event(call_id: str, generation: int) -> dict[str, object]:
    return {"call_id": call_id, "generation": generation}


class CompanionInvoker:
    def __init__(self, function_name: str, client: LambdaClient | None = None) -> None:
        self._function_name = function_name
        self._built = client

    @property
    def _client(self) -> LambdaClient:
        # Built on first use: environments that never start a companion never import its model.
        if self._built is None:
            self._built = boto3.client("lambda", config=_CLIENT_CONFIG)
        return self._built

    def start(self, call_id: str, generation: int = 0) -> None:
        """Queue one companion invocation; raises CompanionUnavailable."""
        try:
            response = self._client.invoke(
                FunctionName=self._function_name,
                InvocationType="Event",
                Payload=json.dumps(companion_event(call_id, generation)).encode(),
            )
        except Exception as exc:
            raise CompanionUnavailable(f"lambda_{error_code(exc) or type(exc).__name__}") from exc
        if response.get("StatusCode") != 202:
            raise CompanionUnavailable(f"lambda_status_{response.get('StatusCode')}")
