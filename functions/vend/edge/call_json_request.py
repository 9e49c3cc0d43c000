"""May this request start a GPT-Live call, and with what? `POST /api/call` as JSON:
`{"sdp": "<offer>", "conversation": [{"role": "user" | "assistant", "text": "…"}]}`.

A rollover or a reconnect carries what was said so far. The offer gets the same checks as an
`application/sdp` body; each message must be a user's or the assistant's text (anything else,
a developer message above all, is refused, not dropped: a page that sends one has a bug or an
intent). Which messages the new session keeps is logic's (logic/conversation_window.py).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, NoReturn

from vend.conversation import Conversation, Message, Role
from vend.edge.call_request import checked_offer, parse_offer
from vend.edge.request_origin import is_json_media_type
from vend.errors import (
    BodyNotObject,
    CallBodyTooLarge,
    InvalidConversation,
    InvalidJson,
    InvalidOffer,
    OfferNotSdp,
    OfferNotSdpOrJson,
    UnknownCallField,
)

MAX_BODY_BYTES = 98_304  # 96 KiB: a 32 KiB offer and the text of a long conversation
_FIELDS = frozenset({"sdp", "conversation"})
_MESSAGE_FIELDS = frozenset({"role", "text"})
_ROLES: dict[str, Role] = {"user": "user", "assistant": "assistant"}


@dataclass(frozen=True, slots=True)
class CallStart:
    offer_sdp: str
    conversation: Conversation = ()


def parse_call_start(
    *, body: str | None, is_base64: bool, content_type: str | None, accepts_json: bool
) -> CallStart:
    """An `application/sdp` offer as ever; JSON too when `accepts_json` (GPT-Live stacks)."""
    if accepts_json and is_json_media_type(content_type):
        return parse_json_call(body=body, is_base64=is_base64)
    try:
        offer = parse_offer(body=body, is_base64=is_base64, content_type=content_type)
    except OfferNotSdp as error:
        if accepts_json:  # the refusal names both media types this stack takes
            raise OfferNotSdpOrJson(error.reason) from None
        raise
    return CallStart(offer)


def parse_json_call(*, body: str | None, is_base64: bool) -> CallStart:
    document = _json_object(_body_bytes(body, is_base64))
    if set(document) - _FIELDS:
        raise UnknownCallField("call_unknown_field")
    sdp = document.get("sdp")
    if not isinstance(sdp, str) or not _is_unicode(sdp):
        raise InvalidOffer("call_sdp_not_a_string")
    return CallStart(checked_offer(sdp), _conversation(document.get("conversation", [])))


def _conversation(raw: Any) -> Conversation:
    if not isinstance(raw, list):
        _refuse(f"conversation_is_{type(raw).__name__}")
    messages: list[Message] = []
    for item in raw:
        if not isinstance(item, dict) or set(item) != _MESSAGE_FIELDS:
            _refuse("message_fields")
        role = _ROLES.get(item["role"]) if isinstance(item["role"], str) else None
        if role is None:
            _refuse("message_role")  # developer and system above all: the page never speaks for us
        text = item["text"]
        if not isinstance(text, str) or not _is_unicode(text):
            _refuse("message_text")
        messages.append(Message(role, text))
    return tuple(messages)


def _refuse(reason: str) -> NoReturn:
    raise InvalidConversation(reason)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        document: Any = json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise InvalidJson("call_body_not_json") from None
    if not isinstance(document, dict):
        raise BodyNotObject(f"call_body_is_{type(document).__name__}")
    return document


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two "sdp" keys would let a proxy and this parser read different offers.
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _is_unicode(text: str) -> bool:
    """False for lone surrogates (`"\\ud800"` is valid JSON, not text OpenAI can take)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _body_bytes(body: str | None, is_base64: bool) -> bytes:
    if not body:
        return b""
    if is_base64:
        if len(body) > (MAX_BODY_BYTES * 4) // 3 + 4:
            raise CallBodyTooLarge("call_body_too_large_base64")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidJson("call_body_not_base64") from None
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise CallBodyTooLarge(f"call_body_bytes_{len(raw)}")
    return raw
