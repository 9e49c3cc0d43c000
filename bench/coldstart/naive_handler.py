"""The reference: the all-eager Powertools pattern the docs and tutorials show. Every utility and client
is built at module level (Logger, Tracer, Metrics, the resolver, SecretsProvider, an httpx client) and
nothing is fetched before the first request: the key and the TLS connections come with it.

It mints as ours does (the same secret, the same upstream), so only the start-up strategy differs.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities import parameters

logger = Logger(service="naive")
tracer = Tracer(service="naive")
metrics = Metrics(namespace="Naive", service="naive")
app = APIGatewayHttpResolver()
secrets_provider = parameters.SecretsProvider()
http = httpx.Client(base_url=os.environ.get("OPENAI_BASE_URL", "https://api.openai.com"), timeout=5)


@app.post("/api/session")
def create_session() -> Response[str]:
    key = secrets_provider.get(os.environ["OPENAI_API_KEY_SECRET_ARN"], max_age=300)
    if not isinstance(key, str):
        raise TypeError("the secret holds no string")
    body = {
        "expires_after": {"anchor": "created_at", "seconds": 60},
        "session": {"type": "realtime", "model": "gpt-realtime-2.1", "audio": {"output": {"voice": "marin"}}},
    }
    upstream = http.post("/v1/realtime/client_secrets", json=body, headers={"Authorization": f"Bearer {key}"})
    upstream.raise_for_status()
    metrics.add_metric(name="ClientSecretsMinted", unit="Count", value=1)
    return Response(200, "application/json", json.dumps(upstream.json()), {"Cache-Control": "no-store"})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
