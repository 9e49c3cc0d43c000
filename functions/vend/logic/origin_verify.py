"""The values of CloudFront's origin header we accept: the secret's current one and, during a
rotation, the previous one, so that no request is dropped while CloudFront switches over.

Read through the same `SecretReader` as the API key and cached as long. A header that matches
neither may mean a rotation this environment has not seen yet, so the secret is re-read at once,
but at most once per REFRESH_INTERVAL_SECONDS: a prober sending wrong headers cannot turn each of
its requests into a Secrets Manager call.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from vend.errors import ServerMisconfigured
from vend.logic.api_key import SecretReader

MIN_VALUE_CHARS = 32
REFRESH_INTERVAL_SECONDS = 30.0


class OriginVerifySource:
    def __init__(
        self,
        reader: SecretReader,
        secret_id: str,
        max_age_seconds: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._clock = clock
        self._last_refresh = -REFRESH_INTERVAL_SECONDS
        self._lock = threading.Lock()

    def accepted(self) -> tuple[bytes, ...]:
        return self._read(force=False)

    def refreshed(self) -> tuple[bytes, ...] | None:
        """Re-read now, unless that was done less than REFRESH_INTERVAL_SECONDS ago (then None)."""
        now = self._clock()
        if now - self._last_refresh < REFRESH_INTERVAL_SECONDS:
            return None
        self._last_refresh = now
        return self._read(force=True)

    def _read(self, *, force: bool) -> tuple[bytes, ...]:
        with self._lock:
            raw = self._reader.get(self._secret_id, max_age=self._max_age, force_fetch=force)
        return parse_origin_verify(raw)


def parse_origin_verify(raw: object) -> tuple[bytes, ...]:
    """`{"current": "…", "previous": "…"}`: current is required, previous may be empty."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    try:
        document = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise ServerMisconfigured("origin_secret_not_json")
    current, previous = document.get("current"), document.get("previous") or ""
    if not isinstance(current, str) or len(current) < MIN_VALUE_CHARS:
        raise ServerMisconfigured("origin_secret_current_too_short")
    if not isinstance(previous, str) or (previous and len(previous) < MIN_VALUE_CHARS):
        raise ServerMisconfigured("origin_secret_previous_too_short")
    return tuple(value.encode() for value in (current, previous) if value)
