"""The answer to CloudFormation: a JSON document PUT to the request's pre-signed ResponseURL.

CloudFormation waits for this document (up to an hour) and nothing else, so it is sent exactly once
per request, retried on a network error, and kept under the 4096-byte limit by shortening Reason.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

MAX_BODY_BYTES = 4096
SEND_ATTEMPTS = 2
SEND_TIMEOUT_SECONDS = 4.0
RETRY_PAUSE_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Literal["SUCCESS", "FAILED"]
    physical_resource_id: str
    reason: str = ""
    data: Mapping[str, str] = field(default_factory=dict)


def body(request: Mapping[str, Any], outcome: Outcome) -> bytes:
    """The response document: the request's ids copied verbatim, our status, reason and data."""
    document: dict[str, Any] = {
        "Status": outcome.status,
        "Reason": outcome.reason,
        "PhysicalResourceId": outcome.physical_resource_id,
        "StackId": request.get("StackId", ""),
        "RequestId": request.get("RequestId", ""),
        "LogicalResourceId": request.get("LogicalResourceId", ""),
        "NoEcho": False,
        "Data": dict(outcome.data),
    }
    encoded = json.dumps(document).encode("utf-8")
    if len(encoded) > MAX_BODY_BYTES:
        # Only Reason is ours to shorten; everything else CloudFormation needs as it is.
        excess = len(encoded) - MAX_BODY_BYTES
        document["Reason"] = outcome.reason[: max(0, len(outcome.reason) - excess - 3)] + "..."
        encoded = json.dumps(document).encode("utf-8")
    return encoded


def send(response_url: str, payload: bytes, timeout: float = SEND_TIMEOUT_SECONDS) -> None:
    """PUTs the document. Content-Type is empty on purpose: the URL was signed without one."""
    if not response_url.startswith(("https://", "http://")):
        raise ValueError("ResponseURL is not an http(s) URL")
    last_error: Exception | None = None
    for attempt in range(SEND_ATTEMPTS):
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            response_url,
            data=payload,
            method="PUT",
            headers={"Content-Type": "", "Content-Length": str(len(payload))},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                response.read()
            return
        except OSError as exc:  # URLError, HTTPError and timeouts are all OSErrors
            last_error = exc
            if isinstance(exc, urllib.error.HTTPError):
                exc.close()  # an error reply still holds its connection open
            if attempt + 1 < SEND_ATTEMPTS:
                time.sleep(RETRY_PAUSE_SECONDS)
    raise ConnectionError(f"could not deliver the response to CloudFormation: {last_error}")
