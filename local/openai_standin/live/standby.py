"""Standby: `wake_policy: {type: "speech"}` with `idle_timeout_s: N` pauses inference after N whole
seconds with neither user nor assistant speech (`session.paused`), and microphone speech wakes it
(`session.resumed`, on the first wake and each later one).

Where OpenAI documents nothing, the stand-in chooses: a session with a wake policy starts not yet
woken and that time is billed as paused; the assistant about to speak (a delegated result, typed
text) wakes it as speech does; muted input is silence, so it neither wakes nor keeps it awake.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .usage_meter import UsageMeter

Emit = Callable[[dict[str, Any]], None]


class Standby:
    def __init__(
        self,
        config: dict[str, Any],
        emit: Emit,
        usage: UsageMeter,
        busy: Callable[[], bool],
    ) -> None:
        self.enabled = config.get("wake_policy") is not None
        self.idle_timeout: int | None = config.get("idle_timeout_s") if self.enabled else None
        self.awake = not self.enabled
        self.paused_count = 0
        self.resumed_count = 0
        self._emit = emit
        self._usage = usage
        self._busy = busy
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = False

    def started(self) -> None:
        """The session started: a wake-policy session waits, paused, for speech."""
        if self.enabled:
            self._usage.pause()

    def wake(self) -> None:
        """Speech (or the assistant about to speak): resume if paused, and restart the idle clock."""
        if self._stopped:
            return
        if not self.awake:
            self.awake = True
            self.resumed_count += 1
            self._usage.resume()
            self._emit({"type": "session.resumed"})
        self.activity()

    def activity(self) -> None:
        """Someone spoke: the idle timeout counts from now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.idle_timeout is not None and self.awake and not self._stopped:
            self._timer = self._loop.call_later(self.idle_timeout, self._idle)

    def _idle(self) -> None:
        self._timer = None
        if self._stopped or not self.awake:
            return
        if self._busy():  # someone is speaking right now: not idle
            self.activity()
            return
        self.awake = False
        self.paused_count += 1
        self._usage.pause()
        self._emit({"type": "session.paused"})

    def stop(self) -> None:
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
