"""Every response we send: JSON, never cached, and errors as `{"error": {"code", "message"}}`."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from vend.errors import VendError

_JSON_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":")),
        headers={**_JSON_HEADERS, **(headers or {})},
    )


def sdp_response(answer: str, *, location: str, ends_at: int) -> Response[str]:
    """201 with the SDP answer; `Call-Ends-At` (unix seconds) is when the server hangs the call up."""
    return Response(
        status_code=201,
        content_type="application/sdp",
        body=answer,
        headers={**_JSON_HEADERS, "Location": location, "Call-Ends-At": str(ends_at)},
    )


def empty_response(status: int) -> Response[str]:
    return Response(status_code=status, body="", headers=dict(_JSON_HEADERS))


def error_response(error: VendError) -> Response[str]:
    body = {"error": {"code": error.code, "message": error.public_message}}
    return json_response(error.status, body, error.headers())


def raw_response(response: Response[str]) -> dict[str, Any]:
    """A Response as the payload 2.0 dict API Gateway expects, for answers made outside the router."""
    headers = {key: value for key, value in response.headers.items() if isinstance(value, str)}
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": str(response.content_type), **headers},
        "body": response.body,
        "isBase64Encoded": False,
    }
