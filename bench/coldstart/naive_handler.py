"""The reference: the all-eager Powertools pattern the docs and tutorials show. Every utility and client
is built at module level (Logger, Tracer, Metrics, the resolver, the Secrets Manager and SSM providers,
a DynamoDB client, an httpx client) and nothing is fetched before the first request: the secrets, the
pause switch and the TLS connections come with it.

It mints as ours does (the same secrets, the same origin check, pause switch, keyed fingerprint, one
quota transaction on the same table, the same upstream), so only the start-up strategy differs.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import time
from typing import Any

import boto3
import httpx
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import ForbiddenError, ServiceError
from aws_lambda_powertools.utilities import parameters

logger = Logger(service="naive")
tracer = Tracer(service="naive")
metrics = Metrics(namespace="Naive", service="naive")
app = APIGatewayHttpResolver()
secrets_provider = parameters.SecretsProvider()
ssm_provider = parameters.SSMProvider()
dynamodb = boto3.client("dynamodb")
http = httpx.Client(base_url=os.environ.get("OPENAI_BASE_URL", "https://api.openai.com"), timeout=5)
TABLE = os.environ["QUOTA_TABLE_NAME"]


def counter(key: str, limit: str, expires_at: int) -> Any:  # a TransactWriteItem
    return {
        "Update": {
            "TableName": TABLE,
            "Key": {"pk": {"S": key}},
            "UpdateExpression": "ADD #count :one SET expires_at = if_not_exists(expires_at, :ttl)",
            "ConditionExpression": "attribute_not_exists(#count) OR #count < :limit",
            "ExpressionAttributeNames": {"#count": "count"},
            "ExpressionAttributeValues": {
                ":one": {"N": "1"},
                ":ttl": {"N": str(expires_at)},
                ":limit": {"N": limit},
            },
        }
    }


@app.post("/api/session")
def create_session() -> Response[str]:
    headers = app.current_event.headers
    origin = secrets_provider.get(os.environ["ORIGIN_VERIFY_SECRET_ARN"], max_age=300, transform="json")
    if not isinstance(origin, dict) or not hmac.compare_digest(
        headers.get("x-origin-verify", "").encode(), str(origin["current"]).encode()
    ):
        raise ForbiddenError("Forbidden.")
    if ssm_provider.get(os.environ["PAUSE_PARAMETER_NAME"], max_age=5) != "false":
        raise ServiceError(503, "paused")
    visitor_key = secrets_provider.get(os.environ["VISITOR_KEY_SECRET_ARN"], max_age=3600)
    ip = headers["cloudfront-viewer-address"].rpartition(":")[0]
    digest = hmac.new(str(visitor_key).encode(), f"ipv4:{ip}".encode(), hashlib.sha256).digest()
    visitor = base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
    now = time.time()
    window = int(os.environ["QUOTA_WINDOW_SECONDS"])
    start = int(now // window) * window
    day = dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat()
    dynamodb.transact_write_items(
        TransactItems=[
            counter(f"visitor#{visitor}#{start}", os.environ["QUOTA_PER_VISITOR"], start + window + 3600),
            counter(f"day#{day}", os.environ["DAILY_CAP"], int(now) + 2 * 86_400),
        ]
    )
    key = secrets_provider.get(os.environ["OPENAI_API_KEY_SECRET_ARN"], max_age=300)
    if not isinstance(key, str):
        raise TypeError("the secret holds no string")
    body = {
        "expires_after": {"anchor": "created_at", "seconds": 60},
        "session": {"type": "realtime", "model": "gpt-realtime-2.1", "audio": {"output": {"voice": "marin"}}},
    }
    upstream = http.post(
        "/v1/realtime/client_secrets",
        json=body,
        headers={"Authorization": f"Bearer {key}", "OpenAI-Safety-Identifier": visitor},
    )
    upstream.raise_for_status()
    metrics.add_metric(name="ClientSecretsMinted", unit="Count", value=1)
    return Response(200, "application/json", json.dumps(upstream.json()), {"Cache-Control": "no-store"})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
