"""Minting one client secret: counted against the quotas, the server's session, the current key, and
one refresh on rotation. A mint that fails after it was counted gives its count back."""

from __future__ import annotations

import time
from typing import Any, Protocol

from vend.errors import ServerMisconfigured, UpstreamUnauthorized
from vend.logic.api_key import OpenAIApiKeySource
from vend.logic.quota import MintQuota
from vend.logic.session_config import client_secret_request
from vend.logic.spend_budget import SpendBudget
from vend.observability import annotate, upstream_span
from vend.secret_values import OpenAIApiKey
from vend.settings import Settings
from vend.upstream import MintedClientSecret


class ClientSecretsApi(Protocol):
    """OpenAI's `POST /v1/realtime/client_secrets` (openai_api/client_secrets.py in production)."""

    def create(
        self,
        api_key: OpenAIApiKey,
        body: dict[str, Any],
        *,
        deadline: float,
        safety_identifier: str | None = None,
    ) -> MintedClientSecret: ...


class ClientSecretVendor:
    def __init__(
        self,
        settings: Settings,
        api_key: OpenAIApiKeySource,
        api: ClientSecretsApi,
        quota: MintQuota,
        spend: SpendBudget | None = None,
    ) -> None:
        self._spend = spend
        self._settings = settings
        self._api_key = api_key
        self._api = api
        self._quota = quota

    def mint(self, voice: str | None, *, visitor: str, deadline: float) -> MintedClientSecret:
        """One client secret for `visitor` (a fingerprint, never the raw identity), or a VendError.

        The fingerprint is also OpenAI's safety identifier for the secret.
        """
        body = client_secret_request(self._settings, voice)
        if self._spend is not None:  # the relayed calls' dollars spent today close this door too
            self._spend.require_room(visitor, now=int(time.time()))
        admission = self._quota.admit(visitor)
        try:
            return self._mint(body, visitor, deadline)
        except Exception:
            annotate(quota_given_back=self._quota.give_back(admission))
            raise

    def _mint(self, body: dict[str, Any], visitor: str, deadline: float) -> MintedClientSecret:
        key = self._api_key.current()
        try:
            with upstream_span("openai.client_secrets"):
                minted = self._api.create(key, body, deadline=deadline, safety_identifier=visitor)
        except UpstreamUnauthorized:
            # A rotated key looks like this: our cached key was revoked. Re-read once; if the secret
            # still holds the same key, it is simply wrong and no retry will help.
            fresh = self._api_key.refreshed()
            annotate(key_refreshed=True)
            if fresh == key:
                raise ServerMisconfigured("openai_rejected_key", upstream_status=401) from None
            with upstream_span("openai.client_secrets"):
                minted = self._api.create(fresh, body, deadline=deadline, safety_identifier=visitor)
        annotate(
            upstream_status=minted.upstream_status,
            upstream_latency_ms=round(minted.upstream_latency_ms, 2),
            upstream_attempts=minted.attempts,
            client_secret_fp=minted.value.fingerprint,
            expires_at=minted.expires_at,
        )
        return minted
