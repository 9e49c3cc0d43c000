"""The hand-over: before Lambda's limit, start the next generation and serve until it has attached.

The successor records its generation (conditionally, after it attached) in the companion item; this
one polls that item and leaves once it sees a newer generation, or at its own exit time. Until then
both are attached, so the cap and the metering never lapse: metering dedupes by event key and the
tool-call claims dedupe tools.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from vend.companion.ports import CompanionItems, Companions
from vend.observability import annotate, logger, record_companion_failure

POLL_SECONDS = 0.25


class HandOver:
    def __init__(
        self,
        call_id: str,
        generation: int,
        *,
        companions: Companions,
        items: CompanionItems,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._call_id = call_id
        self._generation = generation
        self._companions = companions
        self._items = items
        self._clock = clock
        self.started = False
        self.failed = False
        self._next_poll = 0.0

    def start(self) -> None:
        """Queue the successor once; a failure is counted, and this one serves on to its exit time."""
        if self.started:
            return
        self.started = True
        try:
            self._companions.start(self._call_id, self._generation + 1)
        except Exception as error:
            self.failed = True
            record_companion_failure()
            logger.error(
                "companion hand-over could not start",
                extra={"call_id": self._call_id, "reason": getattr(error, "reason", type(error).__name__)},
            )
            return
        annotate(handed_over_to=self._generation + 1)

    def successor_attached(self) -> bool:
        """Whether a newer generation holds the call (read at most every POLL_SECONDS)."""
        now = self._clock()
        if now < self._next_poll:
            return False
        self._next_poll = now + POLL_SECONDS
        newest = self._items.generation(self._call_id)
        return newest is not None and newest > self._generation
