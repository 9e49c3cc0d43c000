"""Which messages a new GPT-Live session starts with: the newest, within 128 messages and 8,192
tokens by an estimate that never counts fewer tokens than a message can have (one per UTF-8 byte)."""

from __future__ import annotations

from vend.conversation import Message
from vend.logic.conversation_window import (
    MAX_MESSAGES,
    MAX_TOKENS,
    MESSAGE_OVERHEAD_TOKENS,
    estimated_tokens,
    newest_within_limits,
)


def turns(count: int, text: str = "hello") -> tuple[Message, ...]:
    return tuple(Message("user" if n % 2 == 0 else "assistant", f"{text} {n}") for n in range(count))


def test_a_short_conversation_is_kept_whole_and_in_order() -> None:
    conversation = turns(6)

    assert newest_within_limits(conversation) == conversation


def test_at_most_128_messages_the_newest() -> None:
    conversation = turns(200)

    kept = newest_within_limits(conversation)

    assert len(kept) == MAX_MESSAGES == 128
    assert kept == conversation[-128:]


def test_at_most_8192_estimated_tokens_the_newest() -> None:
    conversation = turns(40, text="x" * 1000)  # about 1,013 estimated tokens each

    kept = newest_within_limits(conversation)

    assert sum(estimated_tokens(message) for message in kept) <= MAX_TOKENS == 8_192
    assert kept == conversation[-len(kept) :]
    assert len(kept) == MAX_TOKENS // estimated_tokens(conversation[-1])  # as many as fit, no fewer


def test_the_estimate_counts_every_byte_and_the_role() -> None:
    # A BPE token covers at least one byte: bytes bound the tokens from above, whatever the script.
    for text in ("plain ascii", "é" * 10, "日本語のテキスト", "🙂" * 5):
        message = Message("user", text)
        assert estimated_tokens(message) == len(text.encode()) + MESSAGE_OVERHEAD_TOKENS


def test_a_run_stops_at_the_first_message_that_does_not_fit() -> None:
    huge = Message("user", "y" * MAX_TOKENS)
    conversation = (Message("user", "first"), huge, Message("assistant", "last"))

    # Older messages past an oversized one would leave a hole in the history: none are kept.
    assert newest_within_limits(conversation) == (Message("assistant", "last"),)


def test_blank_messages_are_left_out() -> None:
    conversation = (Message("user", "hi"), Message("assistant", "  \n"), Message("user", ""))

    assert newest_within_limits(conversation) == (Message("user", "hi"),)


def test_an_empty_conversation_stays_empty() -> None:
    assert newest_within_limits(()) == ()
