from __future__ import annotations

import base64

import pytest

from vend.edge.mint_request import MAX_BODY_BYTES, parse_mint_request
from vend.errors import (
    BodyTooLarge,
    InvalidJson,
    UnknownField,
    UnsupportedMediaType,
    VendError,
    VoiceNotAllowed,
)

VOICES = ("marin", "cedar")


def parse(body: str | None, content_type: str | None = "application/json", b64: bool = False) -> str | None:
    return parse_mint_request(
        body=body, is_base64=b64, content_type=content_type, allowed_voices=VOICES
    ).voice


def test_accepted_bodies() -> None:
    assert parse(None) is None
    assert parse("") is None
    assert parse("{}") is None
    assert parse('{"voice": "cedar"}') == "cedar"
    assert parse(base64.b64encode(b'{"voice": "marin"}').decode(), "application/json", b64=True) == "marin"


def test_an_empty_body_must_still_be_declared_json() -> None:
    # A JSON content type is what a cross-site page cannot send without a preflight.
    for content_type in (None, "", "text/plain", "multipart/form-data; boundary=x"):
        with pytest.raises(UnsupportedMediaType):
            parse("", content_type)


def test_size_limit_is_bytes_not_characters() -> None:
    padding = "é" * ((MAX_BODY_BYTES // 2) - 5)  # 2 bytes each in UTF-8: under 4096 chars, over 4096 bytes
    with pytest.raises(BodyTooLarge):
        parse('{"voice": "' + padding + '"}')


def test_oversized_base64_body_is_refused_before_decoding() -> None:
    with pytest.raises(BodyTooLarge):
        parse(base64.b64encode(b"x" * 10_000).decode(), b64=True)


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        ('{"voice": "cedar"}', None, UnsupportedMediaType),
        ('{"voice": "cedar"}', "application/x-www-form-urlencoded", UnsupportedMediaType),
        ("{", "application/json", InvalidJson),
        ("[" * 100_000, "application/json", BodyTooLarge),
        ("NaN", "application/json", Exception),
        ('{"Voice": "cedar"}', "application/json", UnknownField),
        ('{"voice": "CEDAR"}', "application/json", VoiceNotAllowed),
        ('{"voice": ["cedar"]}', "application/json", VoiceNotAllowed),
    ],
)
def test_refused_bodies(body: str, content_type: str | None, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        parse(body, content_type)

    assert isinstance(caught.value, VendError)
