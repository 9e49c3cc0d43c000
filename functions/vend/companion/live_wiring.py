"""The parts of a companion that differ between the two voice APIs, chosen by `settings.voice_api`:
where the sideband attaches, what an event means, how a tool's output goes back, how the companion
ends the session. The loop (session.py), the hand-over, the timers and the finaliser are the same.

    realtime  /v1/realtime?call_id=rtc_…            dispatch.py       conversation.item.create  HTTP hangup
    live      /v1/live/sessions/live_…/attach       live_dispatch.py  response.item.create      session.close
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vend.companion import collaborators
from vend.companion.dispatch import Dispatch
from vend.companion.live_dispatch import LiveDispatch
from vend.companion.live_ending import LiveEnding
from vend.companion.live_metering import LiveMeter
from vend.companion.metering import Meter
from vend.companion.session import Dispatcher, Ending
from vend.companion.sideband import sideband_url
from vend.companion.tool_answers import Answer, ToolAnswers, live_answer, realtime_answer
from vend.errors import ServerMisconfigured
from vend.openai_api.live_close import attach_url
from vend.usage import CallRecord

if TYPE_CHECKING:
    from vend.companion.wiring import Parts


@dataclass(frozen=True, slots=True)
class ApiParts:
    sideband_url: str
    answer: Answer
    dispatch: Callable[[ToolAnswers], Dispatcher]
    ending: Ending | None  # None: the finaliser's HTTP hangup
    warm_up: tuple[Callable[[], object], ...]  # built after the first attach, off the loop's thread


def realtime_parts(parts: Parts, record: CallRecord, openai_call_id: str) -> ApiParts:
    settings = parts.settings
    meter = Meter(
        record,
        pricing=parts.pricing,
        spend=parts.spend,
        budget=parts.budget,
        model=settings.model,
        transcription_model=settings.transcription_model,
        clock=parts.clock,
    )

    def dispatch(tools: ToolAnswers) -> Dispatcher:
        return Dispatch(record.call_id, meter, tools)

    return ApiParts(
        sideband_url=sideband_url(settings.openai_base_url, openai_call_id),
        answer=realtime_answer,
        dispatch=dispatch,
        ending=None,
        warm_up=(parts.pricing, parts.spend),
    )


def live_parts(parts: Parts, record: CallRecord, session_id: str) -> ApiParts:
    settings = parts.settings
    pricing = parts.live_pricing or (lambda: collaborators.live_pricing(settings))
    spend = parts.live_spend
    if spend is None:
        raise ServerMisconfigured("live_spend_ledger_missing")
    meter = LiveMeter(
        record,
        pricing=pricing,
        spend=spend,
        budget=parts.budget,
        voice_model=settings.live.model,
        backend_model=settings.live.backend_model,
        clock=parts.clock,
    )

    def dispatch(tools: ToolAnswers) -> Dispatcher:
        return LiveDispatch(record.call_id, meter, tools)

    return ApiParts(
        sideband_url=attach_url(settings.openai_base_url, session_id),
        answer=live_answer,
        dispatch=dispatch,
        ending=LiveEnding(settings.openai_base_url, parts.api_key, session_id),
        warm_up=(pricing, spend),
    )
