"""Ending a GPT-Live session from the companion: `session.close`, then `session.closed` within 15 s.

On the companion's own sideband when it is attached: the close goes out at once and the events that
follow it (the final usage in `session.closed`) are metered as they arrive; the sideband closing also
means the session is over. Otherwise (detached at the cap, or the own sideband broke while waiting), a
brief sideband of its own (openai_api/live_close.py), which meters the same way. A 404 there means
the session was over already. `POST …/hangup` is documented for SIP only: never relied upon here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from vend.companion.ports import KeySource
from vend.companion.sideband import Sideband, SidebandClosed, SidebandDropped
from vend.errors import UpstreamUnauthorized
from vend.observability import annotate
from vend.openai_api.live_close import CLOSE, CLOSED, close_live_session

CLOSE_WAIT_SECONDS = 15.0  # what GPT-Live's own example page waits for session.closed
OnEvent = Callable[[Mapping[str, Any]], object]


class LiveEnding:
    def __init__(
        self,
        base_url: str,
        api_key: KeySource,
        session_id: str,
        *,
        close: Callable[..., bool] = close_live_session,
    ) -> None:
        self._base_url = base_url
        self._api_key = api_key
        self._session_id = session_id
        self._close = close

    def end(self, sideband: Sideband | None, on_event: OnEvent) -> None:
        """End the session and wait for its end; raises (the invocation fails, Lambda retries) if
        neither the own sideband nor a brief one could confirm it."""
        deadline = time.monotonic() + CLOSE_WAIT_SECONDS
        if sideband is not None and _in_band(sideband, on_event, deadline):
            annotate(upstream_close="ended")
            return
        live = self._out_of_band(on_event, max(deadline, time.monotonic() + 5.0))
        annotate(upstream_close="ended" if live else "already_over")

    def _out_of_band(self, on_event: OnEvent, deadline: float) -> bool:
        try:
            return self._close(
                self._base_url,
                self._api_key.current(),
                self._session_id,
                deadline=deadline,
                on_event=on_event,
            )
        except UpstreamUnauthorized:  # a rotated key: read it again once
            return self._close(
                self._base_url,
                self._api_key.refreshed(),
                self._session_id,
                deadline=deadline,
                on_event=on_event,
            )


def _in_band(sideband: Sideband, on_event: OnEvent, deadline: float) -> bool:
    """Close over the attached sideband; True once the session said it closed (or closed the socket)."""
    try:
        sideband.send(dict(CLOSE))
        while (left := deadline - time.monotonic()) > 0:
            event = sideband.receive(left)
            if event is None:
                continue
            on_event(event)
            if event.get("type") == CLOSED:
                return True
    except SidebandClosed:
        return True
    except SidebandDropped:
        return False
    return False
