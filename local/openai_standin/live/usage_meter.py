"""A Live session's billable seconds, as `SessionUsage` reports them.

`seconds` counts from the create (whole seconds) and is never below the 15 s billed at create;
`paused_seconds` is the time inference spent in standby, rounded down; `active_seconds` is the rest,
so it holds the unused prepaid part too (the SDK's docstring: "active audio and any unused prepaid
duration"), and active + paused = seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

PREPAID_SECONDS = 15


class UsageMeter:
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._start = now()
        self._paused_total = 0.0
        self._paused_since: float | None = None
        self._stopped_at: float | None = None

    def _at(self) -> float:
        return self._stopped_at if self._stopped_at is not None else self._now()

    def pause(self) -> None:
        if self._paused_since is None and self._stopped_at is None:
            self._paused_since = self._now()

    def resume(self) -> None:
        if self._paused_since is not None and self._stopped_at is None:
            self._paused_total += self._now() - self._paused_since
            self._paused_since = None

    def stop(self) -> None:
        """The session ended: the figures stop growing."""
        if self._stopped_at is None:
            self._stopped_at = self._now()

    @property
    def paused(self) -> bool:
        return self._paused_since is not None

    def snapshot(self) -> dict[str, Any]:
        at = self._at()
        paused = self._paused_total + (at - self._paused_since if self._paused_since is not None else 0.0)
        paused_seconds = math.floor(paused)
        seconds = max(PREPAID_SECONDS, math.floor(at - self._start))
        return {
            "seconds": float(seconds),
            "active_seconds": seconds - paused_seconds,
            "paused_seconds": paused_seconds,
        }
