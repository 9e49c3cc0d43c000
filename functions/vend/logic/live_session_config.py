"""The session of a GPT-Live call (`POST /v1/live/sessions`'s `session`), decided by the server.

Built from settings only, plus the visitor's `safety_identifier` and the conversation the page
carried over (trimmed to GPT-Live's limits, user and assistant text only). Everything here is fixed
for the session's life: GPT-Live lets nothing but delegation settings change after startup.
Shapes follow openai-python's `openai.types.live.MediaSessionConfigParam` (tests validate them).
"""

from __future__ import annotations

from typing import Any

from vend.conversation import Conversation, Message
from vend.logic.conversation_window import newest_within_limits
from vend.settings import Settings
from vend.tools import enabled

# What the page may send on its data channel: mute, unmute and close, and typed text (which goes to
# the backend) only when the operator allows it. Never session.update (the backend's model, prompt
# and tools), the instruction appends or decision events.
PAGE_CLIENT_EVENTS = ("session.input_audio.mute", "session.input_audio.unmute", "session.close")
TYPED_TEXT_EVENTS = ("response.item.create", "response.create")
# What the page may receive: what it shows. Not session.started/updated/closed (each carries the
# whole session: the backend prompt and tool definitions), nor session.usage.updated (nothing it shows).
PAGE_SERVER_EVENTS = (
    "session.input_transcript.delta",
    "session.output_transcript.delta",
    "session.input_audio.muted",
    "session.input_audio.unmuted",
    "session.paused",
    "session.resumed",
    "session.delegation.created",
    "error",
    "info",
)
# The page shows tool activity from the backend's function-call items, and nothing else of its stream.
PAGE_RESPONSE_EVENTS = ("response.output_item.done",)


def live_session(
    settings: Settings, *, safety_identifier: str, conversation: Conversation = ()
) -> dict[str, Any]:
    live = settings.live
    session: dict[str, Any] = {
        "model": live.model,
        "instructions": live.instructions,
        "audio": {"output": {"voice": live.voice}},
        "client": {"data_channel": data_channel(typed_text=live.typed_text)},
        "delegation": {
            "type": "responses",
            "responses": backend(settings),
        },
        "safety_identifier": safety_identifier,
        "store": False,  # no recording kept at OpenAI; forks (which need one) are not used
    }
    if live.idle_timeout_seconds > 0:
        # Standby: inference pauses after this much inactivity and speech wakes it (billed less).
        session["wake_policy"] = {"type": "speech"}
        session["idle_timeout_s"] = live.idle_timeout_seconds
    history = newest_within_limits(conversation)
    if history:
        session["input"] = [_initial_item(message) for message in history]
    return session


def data_channel(*, typed_text: bool) -> dict[str, Any]:
    client_events = PAGE_CLIENT_EVENTS + (TYPED_TEXT_EVENTS if typed_text else ())
    server_events: list[dict[str, str]] = [{"type": name} for name in PAGE_SERVER_EVENTS]
    server_events += [{"type": "response.event", "response_event": name} for name in PAGE_RESPONSE_EVENTS]
    return {"allowed_client_events": list(client_events), "allowed_server_events": server_events}


def backend(settings: Settings) -> dict[str, Any]:
    """The Responses model delegated tasks go to: its prompt, and its tools.

    Function tools (the server tools) only where a companion holds the sideband to run them, as for
    Realtime (logic/session_config.py's relay_session); hosted tools run at OpenAI, from the allow-list.
    """
    live = settings.live
    tools: list[dict[str, Any]] = []
    if settings.companions.function_name is not None and settings.companions.tools:
        tools += [tool.definition() for tool in enabled(settings.companions.tools)]
    tools += [{"type": name} for name in live.hosted_tools]
    responses: dict[str, Any] = {"model": live.backend_model, "instructions": live.backend_instructions}
    if tools:
        responses["tools"] = tools
    return responses


def _initial_item(message: Message) -> dict[str, Any]:
    # User text is input_text, the assistant's own words output_text (`InitialItemParam`).
    if message.role == "user":
        return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": message.text}]}
    if message.role == "assistant":
        return {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": message.text}],
        }
    raise ValueError("only user and assistant messages are carried over")  # never developer
