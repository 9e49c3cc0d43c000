"""May this request start or end a relayed call? The SDP offer's shape and size, and the call id.

The offer goes to OpenAI as it is; this only refuses what is plainly not a WebRTC offer for one
voice call (one audio section, one data channel, `a=setup:actpass` as every offer has), so that a
script cannot use us to post arbitrary bodies upstream.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

from vend.errors import CallNotFound, InvalidOffer, OfferNotSdp, OfferTooLarge

MAX_OFFER_BYTES = 32_768
CALL_ID = re.compile(r"call_[0-9a-f]{32}")


def parse_offer(*, body: str | None, is_base64: bool, content_type: str | None) -> str:
    if not content_type or content_type.split(";", 1)[0].strip().lower() != "application/sdp":
        raise OfferNotSdp("content_type_not_sdp")
    raw = _body_bytes(body, is_base64)
    if len(raw) > MAX_OFFER_BYTES:
        raise OfferTooLarge(f"offer_bytes_{len(raw)}")
    try:
        sdp = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidOffer("offer_not_utf8") from None
    return checked_offer(sdp)


def checked_offer(sdp: str) -> str:
    """The offer's checks on its text (also for one that came inside a JSON body), normalised to CRLF."""
    if len(sdp.encode("utf-8", errors="surrogatepass")) > MAX_OFFER_BYTES:
        raise OfferTooLarge("offer_text_too_large")
    lines = [line.strip() for line in sdp.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines or lines[0] != "v=0":
        raise InvalidOffer("offer_not_sdp")
    media = [line.split(" ", 1)[0].removeprefix("m=") for line in lines if line.startswith("m=")]
    if sorted(media) != ["application", "audio"]:
        raise InvalidOffer("offer_media_" + ("_".join(media) or "none")[:40])
    if "a=setup:actpass" not in lines:
        raise InvalidOffer("offer_not_an_offer")
    if any(any(ord(c) < 32 and c != "\t" for c in line) for line in lines):
        raise InvalidOffer("offer_control_characters")
    return "\r\n".join(lines) + "\r\n"


REPLACES_HEADER = "replaces-call"


def replaced_call(headers: Mapping[str, str]) -> str | None:
    """`Replaces-Call: /api/call/<id>` (or the bare id): the page's call that just dropped. A value
    that is not a call id is ignored, as if absent."""
    raw = headers.get(REPLACES_HEADER, "").strip().removeprefix("/api/call/")
    return raw if CALL_ID.fullmatch(raw) else None


def parse_call_id(raw: str) -> str:
    if not CALL_ID.fullmatch(raw):
        raise CallNotFound("call_id_malformed")
    return raw


def _body_bytes(body: str | None, is_base64: bool) -> bytes:
    if not body:
        return b""
    if is_base64:
        if len(body) > (MAX_OFFER_BYTES * 4) // 3 + 4:
            raise OfferTooLarge("offer_too_large_base64")
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidOffer("offer_not_base64") from None
    return body.encode("utf-8", errors="surrogatepass")
