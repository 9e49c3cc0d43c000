"""A visitor's fingerprint: a keyed hash of the identity, the only form of it that leaves the process.

Logs, quota keys and OpenAI's safety identifier all carry the fingerprint. Keyed (HMAC with a secret
the stack generates), because a plain hash of an IPv4 address is reversed by hashing all 2^32 of
them. The key is read once and kept for KEY_MAX_AGE_SECONDS: it does not rotate in normal operation,
and a changed key would only start every visitor's quota afresh.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

from vend.errors import ServerMisconfigured
from vend.logic.api_key import SecretReader

KEY_MAX_AGE_SECONDS = 3600
MIN_KEY_CHARS = 32


@dataclass(frozen=True, slots=True)
class Identity:
    """The raw identity. It never leaves the process: logs and tables get its keyed fingerprint."""

    kind: Literal["sub", "ipv4", "ipv6-64"]
    value: str

    def __repr__(self) -> str:
        return f"Identity({self.kind}, '****')"

    __str__ = __repr__

    def canonical(self) -> bytes:
        """What the fingerprint is computed over: the kind keeps a subject from colliding with an IP."""
        return f"{self.kind}:{self.value}".encode()


class VisitorFingerprints:
    def __init__(self, reader: SecretReader, secret_id: str) -> None:
        self._reader = reader
        self._secret_id = secret_id

    def key_ready(self) -> None:
        """Read (and cache) the key now: the init prefetch calls this."""
        self._key()

    def of(self, identity: Identity) -> str:
        """22 URL-safe characters (128 bits): unique enough, short enough for a log line or a header."""
        digest = hmac.new(self._key(), identity.canonical(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")

    def _key(self) -> bytes:
        raw = self._reader.get(self._secret_id, max_age=KEY_MAX_AGE_SECONDS, force_fetch=False)
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        if not isinstance(raw, str) or len(raw.strip()) < MIN_KEY_CHARS:
            raise ServerMisconfigured("visitor_key_too_short")
        return raw.strip().encode()
