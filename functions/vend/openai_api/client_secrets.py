"""`POST /v1/realtime/client_secrets`: the request goes through the shared client, the answer is checked."""

from __future__ import annotations

import time
from typing import Any

from vend.errors import UpstreamUnavailable
from vend.openai_api.http import OpenAIHttp
from vend.secret_values import ClientSecretValue, OpenAIApiKey
from vend.upstream import MintedClientSecret

PATH = "/v1/realtime/client_secrets"


class ClientSecretsApi:
    def __init__(self, http: OpenAIHttp) -> None:
        self._http = http

    def create(
        self,
        api_key: OpenAIApiKey,
        body: dict[str, Any],
        *,
        deadline: float,
        safety_identifier: str | None = None,
    ) -> MintedClientSecret:
        """Mint one client secret, or raise a VendError. `deadline` is a monotonic instant."""
        reply = self._http.post(
            PATH, api_key, deadline=deadline, json_body=body, safety_identifier=safety_identifier
        )
        try:
            document = reply.response.json()
        except (ValueError, UnicodeDecodeError):
            raise UpstreamUnavailable("openai_200_not_json", upstream_status=200) from None
        if not isinstance(document, dict):
            raise UpstreamUnavailable("openai_200_not_object", upstream_status=200)
        value, expires_at, session = (
            document.get("value"),
            document.get("expires_at"),
            document.get("session"),
        )
        if not isinstance(value, str) or not value.startswith("ek_") or len(value) < 8:
            raise UpstreamUnavailable("openai_200_without_client_secret", upstream_status=200)
        if not isinstance(expires_at, int) or isinstance(expires_at, bool) or expires_at <= time.time():
            raise UpstreamUnavailable("openai_200_bad_expires_at", upstream_status=200)
        if not isinstance(session, dict):
            raise UpstreamUnavailable("openai_200_without_session", upstream_status=200)
        return MintedClientSecret(
            value=ClientSecretValue(value),
            expires_at=expires_at,
            session=session,
            upstream_status=reply.response.status_code,
            upstream_latency_ms=reply.latency_ms,
            attempts=reply.attempts,
        )
