"""The session the server decides: the whole `POST /v1/realtime/client_secrets` body.

Built only from settings plus a voice already checked against the allow-list; nothing the caller
sends is interpolated. Shapes follow the GA interface (openai-python `ClientSecretCreateParams`).
"""

from __future__ import annotations

from typing import Any

from vend.settings import Settings


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
