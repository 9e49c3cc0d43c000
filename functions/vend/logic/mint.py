"""Minting one client secret: the server's session, the current key, and one refresh on rotation."""

from __future__ import annotations

from vend.errors import ServerMisconfigured, UpstreamUnauthorized
from vend.logic.api_key import OpenAIApiKeySource
from vend.logic.session_config import client_secret_request
from vend.observability import annotate, upstream_span
from vend.openai_api.client_secrets import ClientSecretsApi, MintedClientSecret
from vend.settings import Settings


class ClientSecretVendor:
    def __init__(self, settings: Settings, api_key: OpenAIApiKeySource, api: ClientSecretsApi) -> None:
        self._settings = settings
        self._api_key = api_key
        self._api = api

    def mint(self, voice: str | None, *, deadline: float) -> MintedClientSecret:
        body = client_secret_request(self._settings, voice)
        key = self._api_key.current()
        try:
            with upstream_span("openai.client_secrets"):
                minted = self._api.create(key, body, deadline=deadline)
        except UpstreamUnauthorized:
            # A rotated key looks like this: our cached key was revoked. Re-read once; if the secret
            # still holds the same key, it is simply wrong and no retry will help.
            fresh = self._api_key.refreshed()
            annotate(key_refreshed=True)
            if fresh == key:
                raise ServerMisconfigured("openai_rejected_key", upstream_status=401) from None
            with upstream_span("openai.client_secrets"):
                minted = self._api.create(fresh, body, deadline=deadline)
        annotate(
            upstream_status=minted.upstream_status,
            upstream_latency_ms=round(minted.upstream_latency_ms, 2),
            upstream_attempts=minted.attempts,
            client_secret_fp=minted.value.fingerprint,
            expires_at=minted.expires_at,
        )
        return minted
