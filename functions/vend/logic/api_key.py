"""The OpenAI API key: what a stored secret must look like, and when to read it again.

The key is cached for the secret's max age and re-read once when OpenAI rejects it (401), which is
what a rotation looks like from here. Reading goes through a `SecretReader` (aws/secrets_manager.py in
production) so the rules can be tested without AWS. A lock makes concurrent first reads in one process
(the local stack, tests) share one GetSecretValue; Lambda itself runs one invocation at a time.
"""

from __future__ import annotations

import json
import threading
from typing import Protocol

from vend.errors import KeyNotStored, ServerMisconfigured
from vend.secret_values import OpenAIApiKey

PLACEHOLDER_PREFIX = "REPLACE_ME"  # what the stack stores until the operator puts the key in


class SecretReader(Protocol):
    def get(self, name: str, *, max_age: int, force_fetch: bool) -> object: ...


class OpenAIApiKeySource:
    def __init__(self, reader: SecretReader, secret_id: str, max_age_seconds: int) -> None:
        self._reader = reader
        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._lock = threading.Lock()

    @property
    def caches(self) -> bool:
        """False when max age is 0: every request reads the secret, so reading it early gains nothing."""
        return self._max_age > 0

    def current(self) -> OpenAIApiKey:
        """The cached key, read from Secrets Manager when the cache is empty or older than max age."""
        return self._read(force=False)

    def refreshed(self) -> OpenAIApiKey:
        """Bypass the cache: called once when OpenAI answers 401, which is what a rotation looks like."""
        return self._read(force=True)

    def _read(self, *, force: bool) -> OpenAIApiKey:
        with self._lock:
            raw = self._reader.get(self._secret_id, max_age=self._max_age, force_fetch=force)
        return parse_secret_value(raw)


def parse_secret_value(raw: object) -> OpenAIApiKey:
    """Accept a plain `sk-…` string or JSON `{"api_key": "sk-…"}` (the console's key/value form)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("{"):
            try:
                raw = json.loads(text)
            except ValueError:
                raise ServerMisconfigured("secret_not_json_or_key") from None
        else:
            raw = text
    if isinstance(raw, dict):
        raw = raw.get("api_key", "")
    if not isinstance(raw, str) or not raw.strip():
        raise ServerMisconfigured("secret_empty")
    value = raw.strip()
    if value.startswith(PLACEHOLDER_PREFIX):
        raise KeyNotStored("secret_is_placeholder")
    if not value.startswith("sk-") or any(c.isspace() for c in value):
        raise ServerMisconfigured("secret_not_an_openai_key")
    return OpenAIApiKey(value)
