"""Every function call the stand-in's model made, and every output a client sent for it.

OpenAI does not deduplicate outputs: a second `function_call_output` for a call id is accepted like
the first. The ledger counts them, so tests can assert that a call was answered exactly once.
"""

from __future__ import annotations

from typing import Any


class FunctionCallLedger:
    def __init__(self) -> None:
        self._calls: dict[str, dict[str, Any]] = {}

    def _entry(self, call_id: str) -> dict[str, Any]:
        return self._calls.setdefault(
            call_id,
            {
                "name": None,
                "arguments": None,
                "response_id": None,
                "outputs_received": 0,
                "output_sources": [],
            },
        )

    def called(self, call_id: str, name: str, arguments: str, response_id: str) -> None:
        self._entry(call_id).update(name=name, arguments=arguments, response_id=response_id)

    def output(self, call_id: str, source: str) -> None:
        """An output arrived (`source`: "sideband" or "data_channel"); unknown call ids count too."""
        entry = self._entry(call_id)
        entry["outputs_received"] += 1
        entry["output_sources"].append(source)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {
            call_id: {**entry, "output_sources": list(entry["output_sources"])}
            for call_id, entry in self._calls.items()
        }
