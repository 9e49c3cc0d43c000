"""end_call: the assistant hangs up, once the visitor has said goodbye or asked to end the call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from vend.tools.schema import Describe
from vend.tools.tool import Tool

GOODBYE = (
    "The call ends after your next reply. Say a short goodbye in one sentence, in the user's language, "
    "and ask nothing more."
)


@dataclass(frozen=True, slots=True)
class Arguments:
    reason: Annotated[str | None, Describe("Why the call ends, in a few words")] = None


def end_call(args: Arguments) -> str:
    # the hang-up itself is the companion's, after this goodbye is spoken (Tool.ends_call)
    return GOODBYE


TOOL = Tool(
    name="end_call",
    description=(
        "Ends the voice call. Call it only when the user says goodbye or asks to end the call, "
        "never on your own initiative or because a topic is finished. After calling it, say a short "
        "goodbye."
    ),
    arguments=Arguments,
    run=end_call,
    ends_call=True,
)
