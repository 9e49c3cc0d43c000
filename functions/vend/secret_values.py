"""Values that must never reach a log line, a trace or an error message by accident.

`repr()` and `str()` are masked; the value is only read through `reveal()`, at the one place that
builds the Authorization header or the response body (as starlette's `Secret` does for repr).
"""

from __future__ import annotations

import hashlib
from typing import Final


class Secret:
    __slots__ = ("_value",)
    _kind: str = "Secret"

    def __init__(self, value: str) -> None:
        self._value: Final = value

    def reveal(self) -> str:
        return self._value

    @property
    def fingerprint(self) -> str:
        """A short, non-reversible id for logs: tells two secrets apart without exposing either."""
        return hashlib.sha256(self._value.encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        return f"{self._kind}('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class OpenAIApiKey(Secret):
    __slots__ = ()
    _kind = "OpenAIApiKey"


class ClientSecretValue(Secret):
    __slots__ = ()
    _kind = "ClientSecretValue"
