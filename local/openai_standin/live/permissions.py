"""`client.data_channel`: which events the page's data channel may send and receive.

Omitted (or "all") allows everything; a list allows exactly its entries, and `[]` nothing. A server
selector `{"type": "response.event", "response_event": X}` matches a `response.event` whose wrapped
Responses event has type X. Sidebands are never restricted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DataChannelPermissions:
    def __init__(self, client: Mapping[str, Any] | None) -> None:
        channel = (client or {}).get("data_channel") or {}
        client_events = channel.get("allowed_client_events", "all")
        server_events = channel.get("allowed_server_events", "all")
        self._client: frozenset[str] | None = None if client_events == "all" else frozenset(client_events)
        self._server: list[Mapping[str, Any]] | None = None if server_events == "all" else list(server_events)

    @property
    def restricted(self) -> bool:
        return self._client is not None or self._server is not None

    def allows_client(self, event_type: str) -> bool:
        return self._client is None or event_type in self._client

    def allows_server(self, event: Mapping[str, Any]) -> bool:
        if self._server is None:
            return True
        for selector in self._server:
            if selector["type"] != event["type"]:
                continue
            if event["type"] != "response.event" or selector.get("response_event") == event["event"].get(
                "type"
            ):
                return True
        return False

    def describe(self) -> str:
        """What the frontend may do, for the `info` event sent when the channel opens."""
        sends = "all client events" if self._client is None else ", ".join(sorted(self._client)) or "none"
        if self._server is None:
            receives = "all server events"
        else:
            names = [
                f"{s['type']}:{s['response_event']}" if s.get("response_event") else s["type"]
                for s in self._server
            ]
            receives = ", ".join(names) or "none"
        return (
            "This data channel is restricted by client.data_channel. "
            f"It may send: {sends}. It receives: {receives}."
        )


def refused_message(event_type: str) -> str:
    return (
        f"The client event '{event_type}' is not allowed on this data channel "
        "(client.data_channel.allowed_client_events); it was dropped."
    )
