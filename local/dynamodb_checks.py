"""A check DynamoDB makes that moto skips inside TransactWriteItems: every ExpressionAttributeValues and
ExpressionAttributeNames entry must be used by an expression of its item. moto makes it for a single
UpdateItem only, so a handler change that left an unused value in a transaction would pass locally and
fail on AWS. This refuses such a request before moto sees it, with DynamoDB's ValidationException.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

TRANSACT_WRITE = "DynamoDB_20120810.TransactWriteItems"
EXPRESSIONS = ("ConditionExpression", "UpdateExpression", "ProjectionExpression")
PLACEHOLDER = re.compile(r"[:#][A-Za-z0-9_]+")


def unused_placeholders(operation: dict[str, Any]) -> str | None:
    """DynamoDB's message for the first unused values or names of one transaction item, or None."""
    used = set(PLACEHOLDER.findall(" ".join(str(operation.get(name, "")) for name in EXPRESSIONS)))
    for field in ("ExpressionAttributeValues", "ExpressionAttributeNames"):
        unused = sorted(set(operation.get(field) or {}) - used)
        if unused:
            return f"Value provided in {field} unused in expressions: keys: {{{', '.join(unused)}}}"
    return None


def first_refusal(body: bytes) -> str | None:
    """DynamoDB's message for a TransactWriteItems body with an unused placeholder, or None."""
    try:
        items = json.loads(body).get("TransactItems") or []
    except (ValueError, AttributeError):
        return None  # moto answers a malformed request itself
    operations = [
        op for item in items if isinstance(item, dict) for op in item.values() if isinstance(op, dict)
    ]
    return next((m for m in map(unused_placeholders, operations) if m), None)


def refusing_unused_placeholders(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """`app` behind the check: a TransactWriteItems with an unused placeholder gets DynamoDB's 400."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") != TRANSACT_WRITE:
            return app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        message = first_refusal(body)
        if message is None:
            return app(environ, start_response)
        answer = json.dumps({"__type": "com.amazon.coral.validate#ValidationException", "message": message})
        start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")])
        return [answer.encode()]

    return serve
