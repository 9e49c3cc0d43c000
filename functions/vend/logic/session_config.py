"""The session the server decides: the whole `POST /v1/realtime/client_secrets` body, and the session
of a relayed call (`POST /v1/realtime/calls`).

Built only from settings plus a voice already checked against the allow-list; nothing the caller
sends is interpolated. Shapes follow the GA interface (openai-python `ClientSecretCreateParams`).
"""

from __future__ import annotations

from typing import Any

from vend.settings import Settings
from vend.tools import enabled


def client_secret_request(settings: Settings, voice: str | None = None) -> dict[str, Any]:
    chosen_voice = voice or settings.default_voice
    if chosen_voice not in settings.voices:
        # edge/mint_request checks this first; repeated so this function can never widen the allow-list
        raise ValueError("voice outside the allow-list")
    audio_input: dict[str, Any] = {
        # null means manual turns: the client sends response.create itself
        "turn_detection": None if settings.turn_detection == "none" else {"type": settings.turn_detection},
    }
    if settings.transcription_model:
        # transcription is off by default; the SDK type does not allow null here, so omit it to keep it off
        audio_input["transcription"] = {"model": settings.transcription_model}
    return {
        "expires_after": {"anchor": "created_at", "seconds": settings.client_secret_ttl_seconds},
        "session": {
            "type": "realtime",
            "model": settings.model,
            "instructions": settings.instructions,
            "output_modalities": [settings.output_modality],
            "max_output_tokens": settings.max_output_tokens,
            "audio": {"input": audio_input, "output": {"voice": chosen_voice}},
        },
    }


def relay_session(settings: Settings) -> dict[str, Any]:
    """A relayed call's session: a client secret's, plus the enabled server tools' definitions.

    Tools go only where a companion holds the call's sideband to execute them. A client-secret
    session never gets them: the server never learns that call's id, so a function call there
    would wait for an output nobody sends (and the page's own answer could not be trusted).
    """
    session: dict[str, Any] = client_secret_request(settings, None)["session"]
    if settings.companions.function_name is not None and settings.companions.tools:
        session["tools"] = [tool.definition() for tool in enabled(settings.companions.tools)]
    return session
