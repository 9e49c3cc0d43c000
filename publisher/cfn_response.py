"""The answer to CloudFormation: a JSON document PUT to the request's pre-signed ResponseURL.

CloudFormation waits for this document (up to an hour) and nothing else, so it is sent exactly once
per request, retried on a network error, and kept under the 4096-byte limit by shortening Reason.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html

Only CloudFormation's own response bucket is ever written to, over https: anyone allowed to invoke the
function can put any URL in an event, and an unchecked URL would make the publisher PUT to it (from
inside AWS, with the stack's ids in the body). `response_target` is the one gate; `send` takes only
what it returns, opens exactly that host, and never follows a redirect.
"""

from __future__ import annotations

import http.client
import json
import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

MAX_BODY_BYTES = 4096
SEND_ATTEMPTS = 2
SEND_TIMEOUT_SECONDS = 4.0
RETRY_PAUSE_SECONDS = 0.5

# CloudFormation's per-region response bucket; the region is written without dashes (uswest2). AWS
# documents the name for VPC endpoint policies:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-vpce-bucketnames.html
RESPONSE_BUCKET_PREFIX = "cloudformation-custom-resource-response-"
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")


class RefusedResponseURL(ValueError):
    """The ResponseURL is not CloudFormation's response bucket over https; nothing may be sent to it."""


@dataclass(frozen=True, slots=True)
class ResponseTarget:
    """A checked ResponseURL. The path carries the pre-signature, so it never appears in a repr or log."""

    host: str
    path: str = field(repr=False)


def response_hosts(region: str) -> frozenset[str]:
    """The hosts CloudFormation's pre-signed URLs use for `region`'s bucket: virtual-hosted style on the
    regional endpoint (s3.<region>), its older dash form (s3-<region>), or, outside China, the global
    endpoint (s3.amazonaws.com). Path-style and other hosts are not CloudFormation's, so not accepted."""
    if not _REGION.fullmatch(region):
        return frozenset()
    bucket = RESPONSE_BUCKET_PREFIX + region.replace("-", "")
    if region.startswith("cn-"):
        return frozenset({f"{bucket}.s3.{region}.amazonaws.com.cn", f"{bucket}.s3-{region}.amazonaws.com.cn"})
    return frozenset(
        {
            f"{bucket}.s3.{region}.amazonaws.com",
            f"{bucket}.s3-{region}.amazonaws.com",
            f"{bucket}.s3.amazonaws.com",
        }
    )


def response_target(url: object, region: str) -> ResponseTarget:
    """Checks a ResponseURL: https, default port, no user info, and the response bucket of this
    function's own region (a stack only invokes custom resources in its region)."""
    if not isinstance(url, str) or not url:
        raise RefusedResponseURL("the event has no ResponseURL")
    # urlsplit drops tabs and newlines and tolerates odd bytes; refuse them rather than guess.
    if not url.isascii() or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise RefusedResponseURL("the ResponseURL has whitespace, control or non-ASCII characters")
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise RefusedResponseURL(f"the ResponseURL's scheme is {parts.scheme!r}, not https")
    try:
        port = parts.port
    except ValueError as exc:
        raise RefusedResponseURL("the ResponseURL has an invalid port") from exc
    host = (parts.hostname or "").lower()
    if parts.username is not None or parts.password is not None or port not in {None, 443}:
        raise RefusedResponseURL(f"the ResponseURL for {host} carries user info or a port")
    if host not in response_hosts(region):
        raise RefusedResponseURL(f"{host or 'no host'} is not CloudFormation's response bucket in {region}")
    return ResponseTarget(host, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))


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


def connect(host: str, timeout: float) -> http.client.HTTPConnection:
    """A TLS connection to `host` with certificate checks (tests point it at a local stand-in)."""
    return http.client.HTTPSConnection(host, 443, timeout=timeout, context=ssl.create_default_context())


def send(target: ResponseTarget, payload: bytes, timeout: float = SEND_TIMEOUT_SECONDS) -> None:
    """PUTs the document. Content-Type is empty on purpose: the URL was signed without one.

    http.client follows no redirects: a 3xx is a failed delivery like any other non-2xx answer."""
    last_error = ""
    for attempt in range(SEND_ATTEMPTS):
        connection = connect(target.host, timeout)
        try:
            connection.request(
                "PUT",
                target.path,
                body=payload,
                headers={"Content-Type": "", "Content-Length": str(len(payload))},
            )
            response = connection.getresponse()
            response.read()
            if 200 <= response.status < 300:
                return
            last_error = f"HTTP {response.status} from {target.host}"
        except (OSError, http.client.HTTPException) as exc:  # timeouts and TLS errors are OSErrors
            last_error = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()
        if attempt + 1 < SEND_ATTEMPTS:
            time.sleep(RETRY_PAUSE_SECONDS)
    raise ConnectionError(f"could not deliver the response to CloudFormation: {last_error}")
