"""The reference for what the quota write adds: our handler, unchanged, except that the quota's store
does not write (every mint admitted, nothing sent to DynamoDB). Everything else is the same code, the
same process, the same clients: the key, the origin check, the pause switch, the fingerprint, the
quota's keys and windows, OpenAI. Built as `providers.build` builds the vendor, with a different store.

    python -m bench.warm.child bench.warm.quota_bypassed <event.json> <requests>
"""

from __future__ import annotations

import dataclasses

from vend import app, providers
from vend.logic.mint import ClientSecretVendor
from vend.logic.quota import MintQuota
from vend.openai_api.client_secrets import ClientSecretsApi
from vend.usage import Counter


class NoWrite:
    """A CounterStore that admits everything and sends nothing."""

    def increment(self, counters: list[Counter]) -> None:
        pass

    def decrement(self, counters: list[Counter]) -> None:
        pass


_ours = providers.current()
_vendor = ClientSecretVendor(
    _ours.settings, _ours.api_key, ClientSecretsApi(_ours.openai), MintQuota(_ours.settings.quota, NoWrite())
)
providers.INSTANCE = dataclasses.replace(_ours, vendor=_vendor)
lambda_handler = app.lambda_handler
