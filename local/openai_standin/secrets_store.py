"""Client secrets (`ek_…`) this stand-in issued, with their session and expiry."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .ids import fingerprint, new_client_secret


@dataclass(frozen=True)
class ClientSecret:
    value: str = field(repr=False)
    expires_at: int
    session: dict[str, Any]

    @property
    def sha256(self) -> str:
        return fingerprint(self.value)


class Clock:
    """Wall-clock seconds, which tests may move forward to expire client secrets at once."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset


class SecretStore:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._by_value: dict[str, ClientSecret] = {}
        self.issued = 0

    def issue(self, seconds: int, session: dict[str, Any]) -> ClientSecret:
        secret = ClientSecret(new_client_secret(), int(self._clock.now()) + seconds, session)
        self._by_value[secret.value] = secret
        self.issued += 1
        return secret

    def lookup(self, value: str) -> ClientSecret | None:
        return self._by_value.get(value)

    def is_live(self, secret: ClientSecret) -> bool:
        return self._clock.now() < secret.expires_at

    def clear(self) -> None:
        self._by_value.clear()
        self.issued = 0
