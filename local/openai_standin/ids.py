"""Identifiers shaped like OpenAI's, and a safe fingerprint for secrets."""

from __future__ import annotations

import hashlib
import secrets


def new_id(prefix: str, nbytes: int = 12) -> str:
    """`prefix` + random hex, e.g. `event_3f9a…`, `resp_…`, `rtc_…`."""
    return f"{prefix}{secrets.token_hex(nbytes)}"


def new_client_secret() -> str:
    return f"ek_{secrets.token_hex(16)}"


def fingerprint(secret: str) -> str:
    """A short sha256 prefix: identifies a key in logs and state without revealing it."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]
