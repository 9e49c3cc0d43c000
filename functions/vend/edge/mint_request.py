"""May this request mint, and with what? Size, media type and the one field a caller may choose.

The caller picks at most a voice from the server's allow-list; anything else is refused rather than
ignored, so a client built against another API finds out at once.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from vend.edge.request_origin import is_json_media_type
from vend.errors import (
    BodyNotObject,
    BodyTooLarge,
    InvalidJson,
    UnknownField,
    UnsupportedMediaType,
    VoiceNotAllowed,
)

MAX_BODY_BYTES = 4096
_ALLOWED_FIELDS = frozenset({"voice"})


@dataclass(frozen=True, slots=True)
class MintRequest:
    voice: str | None


def parse_mint_request(
    *, body: str | None, is_base64: bool, content_type: str | None, allowed_voices: tuple[str, ...]
) -> MintRequest:
    raw = _body_bytes(body, is_base64)
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"body_bytes_{len(raw)}")
    # Even an empty body must be declared JSON: that is what needs a preflight cross-site.
    if not is_json_media_type(content_type):
        raise UnsupportedMediaType("content_type_not_json")
    if not raw.strip():
        return MintRequest(voice=None)  # an empty POST mints with the defaults
    try:
        document: Any = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidJson("body_not_json") from None
    if not isinstance(document, dict):
        raise BodyNotObject(f"body_is_{type(document).__name__}")
    if set(document) - _ALLOWED_FIELDS:
        raise UnknownField("unknown_field")
    voice = document.get("voice")
    if voice is None and "voice" not in document:
        return MintRequest(voice=None)
    if not isinstance(voice, str) or voice not in allowed_voices:
        raise VoiceNotAllowed(allowed_voices)
    return MintRequest(voice=voice)


def _body_bytes(body: str | None, is_base64: bool) -> bytes:
    if not body:
        return b""
    if is_base64:
        # Check the size before decoding: base64 is 4/3 of the payload.
        if len(body) > (MAX_BODY_BYTES * 4) // 3 + 4:
            raise BodyTooLarge("body_too_large_base64")
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidJson("body_not_base64") from None
    return body.encode("utf-8", errors="surrogatepass")
