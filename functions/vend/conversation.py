"""What was said in a call, as the page hands it to the next session (a rollover or a reconnect).

The ground floor: `edge/` parses it from the request, `logic/` trims it and builds GPT-Live's
`input` from it. Only the two roles a visitor may speak for exist here; a developer message (which
GPT-Live would read as instructions) cannot be expressed at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    text: str


Conversation = tuple[Message, ...]
