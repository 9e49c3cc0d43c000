"""Which of the page's messages a new GPT-Live session starts with: the newest that fit its limits.

GPT-Live takes at most 128 `input` messages and 8,192 rendered tokens. We keep the newest messages
(the end of the conversation is what the next turn builds on) and stop at the first one that does
not fit, so the history stays contiguous. The token count is an upper bound, not a tokenizer: a BPE
token covers at least one byte of UTF-8, so a text has at most as many tokens as bytes; each message
adds `MESSAGE_OVERHEAD_TOKENS` for its role and separators in the rendered template (4 in OpenAI's
chat format; 8 here, to stay above it). English text is about 4 bytes a token, so the window keeps
roughly a quarter of what GPT-Live would take, and never more than it takes.
"""

from __future__ import annotations

from vend.conversation import Conversation, Message

MAX_MESSAGES = 128
MAX_TOKENS = 8_192
MESSAGE_OVERHEAD_TOKENS = 8


def estimated_tokens(message: Message) -> int:
    """At least the message's rendered token count (see the module's note)."""
    return len(message.text.encode("utf-8", errors="surrogatepass")) + MESSAGE_OVERHEAD_TOKENS


def newest_within_limits(
    conversation: Conversation, *, max_messages: int = MAX_MESSAGES, max_tokens: int = MAX_TOKENS
) -> Conversation:
    """The longest run of newest messages within both limits; blank messages are left out (they say
    nothing, and GPT-Live needs one text part per message)."""
    kept: list[Message] = []
    tokens = 0
    for message in reversed(conversation):
        if not message.text.strip():
            continue
        cost = estimated_tokens(message)
        if len(kept) == max_messages or tokens + cost > max_tokens:
            break
        kept.append(message)
        tokens += cost
    return tuple(reversed(kept))
