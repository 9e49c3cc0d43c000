"""The pause switch: an operator stops all minting within seconds, without a redeploy.

The switch is one SSM parameter ("true" pauses). A warm function re-reads it at most every
MAX_AGE_SECONDS. If SSM cannot be read, the last reading stands for a while (an SSM hiccup should
not stop a working service, nor resume a paused one); with no recent reading the request fails
closed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from vend.errors import PauseStateUnavailable, ServicePaused

MAX_AGE_SECONDS = 5
STALE_READING_SECONDS = 60  # how long a reading may stand in while SSM cannot be reached
_PAUSED_VALUES = frozenset({"true", "paused", "1", "yes", "on"})
_SERVING_VALUES = frozenset({"false", "serving", "0", "no", "off", ""})


class ParameterReader(Protocol):
    def get(self, name: str, *, max_age: int) -> str: ...


class PauseSwitch:
    def __init__(
        self,
        reader: ParameterReader,
        name: str,
        *,
        unavailable: type[Exception],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._name = name
        self._unavailable = unavailable  # the reader's "transient failure" exception
        self._clock = clock
        self._last: tuple[bool, float] | None = None

    def paused(self) -> bool:
        try:
            raw = self._reader.get(self._name, max_age=MAX_AGE_SECONDS)
        except self._unavailable as exc:
            if self._last is not None and self._clock() - self._last[1] <= STALE_READING_SECONDS:
                return self._last[0]
            raise PauseStateUnavailable(str(exc)) from None
        value = raw.strip().lower()
        # Anything unexpected pauses: a typo in the switch must not keep spending.
        is_paused = value in _PAUSED_VALUES or value not in _SERVING_VALUES
        self._last = (is_paused, self._clock())
        return is_paused

    def require_serving(self) -> None:
        if self.paused():
            raise ServicePaused("pause_switch_on")
