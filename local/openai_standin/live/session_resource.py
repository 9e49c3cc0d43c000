"""The `SessionResource` GPT-Live reports in `session.started`, `session.updated` and `session.closed`.

The resolved startup configuration plus the server's values: the id, `expires_at`, `status`
(always "active", even in the final snapshot), and the defaults OpenAI documents (voice `marin`,
client delegation, `store` false). `wake_policy` and `idle_timeout_s` exist only in the create body:
the resource has no field for them.
"""

from __future__ import annotations

import copy
from typing import Any

DEFAULT_VOICE = "marin"
# "Omitted or blank instructions use server defaults": the stand-in's stand-in for them.
DEFAULT_INSTRUCTIONS = (
    "You are a helpful, concise voice assistant. Speak naturally and let the user interrupt you."
)


def _delegation(requested: dict[str, Any] | None) -> dict[str, Any]:
    if requested is None:
        return {"type": "client", "acknowledgement_delay_ms": 0}
    delegation = copy.deepcopy(requested)
    delegation.setdefault("acknowledgement_delay_ms", 400 if delegation["type"] == "decisions" else 0)
    return delegation


def _input(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    resolved = []
    for item in items:
        content = (
            [{"type": "input_text", **part} for part in item["content"]]
            if item["role"] != "assistant"
            else [{"type": "text", **part} for part in item["content"]]
        )
        resolved.append({"type": "message", **copy.deepcopy(item), "content": content})
    return resolved


def build_session_resource(session_id: str, expires_at: int, config: dict[str, Any]) -> dict[str, Any]:
    instructions = config.get("instructions")
    voice = ((config.get("audio") or {}).get("output") or {}).get("voice", DEFAULT_VOICE)
    resource: dict[str, Any] = {
        "id": session_id,
        "expires_at": expires_at,
        "model": config["model"],
        "status": "active",
        "audio": {"output": {"voice": voice}},
        "delegation": _delegation(config.get("delegation")),
        "input": _input(list(config.get("input") or [])),
        "instructions": instructions
        if isinstance(instructions, str) and instructions.strip()
        else DEFAULT_INSTRUCTIONS,
        "safety_identifier": config.get("safety_identifier"),
        "store": config.get("store", False),
        "triggers": copy.deepcopy(list(config.get("triggers") or [])),
    }
    if "client" in config:
        resource["client"] = copy.deepcopy(config["client"])
    return resource


def apply_update(resource: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """`session.update`: delegation settings (same type, patched) and triggers (replaced)."""
    updated = copy.deepcopy(resource)
    if "delegation" in update and update["delegation"] is not None:
        current = updated["delegation"]
        patch = update["delegation"]
        for key, value in patch.items():
            if isinstance(value, dict) and isinstance(current.get(key), dict):
                current[key] = {**current[key], **copy.deepcopy(value)}
            else:
                current[key] = copy.deepcopy(value)
    if "triggers" in update:
        updated["triggers"] = copy.deepcopy(list(update["triggers"]))
    return updated
