from __future__ import annotations

import pytest

from vend.errors import KeyNotStored, ServerMisconfigured
from vend.logic.api_key import parse_secret_value
from vend.secret_values import ClientSecretValue, OpenAIApiKey

KEY = "sk-proj-unit-test-000000000000000000000"


def test_secrets_never_print() -> None:
    key, ek = OpenAIApiKey(KEY), ClientSecretValue("ek_0123456789abcdef")

    for text in (repr(key), str(key), f"{key}", repr(ek), str([key, ek]), f"{ek!s}"):
        assert "sk-" not in text and "ek_" not in text
    assert key.reveal() == KEY
    assert len(key.fingerprint) == 12 and key.fingerprint not in KEY


@pytest.mark.parametrize(
    "raw", [KEY, f"  {KEY}\n", f'{{"api_key": "{KEY}"}}', {"api_key": KEY}, KEY.encode()]
)
def test_secret_forms(raw: object) -> None:
    assert parse_secret_value(raw).reveal() == KEY


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("", ServerMisconfigured),
        ('{"api_key": ""}', ServerMisconfigured),
        ('{"apiKey": "sk-x"}', ServerMisconfigured),
        ("{not json", ServerMisconfigured),
        ("REPLACE_ME with your OpenAI API key", KeyNotStored),
        ("pk-live-something", ServerMisconfigured),
        ("sk-has whitespace", ServerMisconfigured),
        (None, ServerMisconfigured),
    ],
)
def test_unusable_secret_values(raw: object, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        parse_secret_value(raw)

    assert "sk-" not in str(caught.value)
