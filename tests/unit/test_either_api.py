"""A deploy that switches VoiceApi still ends each call with the API that opened it."""

from __future__ import annotations

from typing import Any

import pytest

from vend.openai_api.either_api import CallsOfEitherApi, opened_by_realtime
from vend.secret_values import OpenAIApiKey
from vend.upstream import OpenedCall

KEY = OpenAIApiKey("sk-test")


class RecordingApi:
    def __init__(self, name: str) -> None:
        self.name = name
        self.hung_up: list[str] = []
        self.created = 0

    def create(
        self,
        api_key: OpenAIApiKey,
        offer_sdp: str,
        session: dict[str, Any],
        *,
        deadline: float,
        safety_identifier: str | None = None,
    ) -> OpenedCall:
        self.created += 1
        return OpenedCall("v=0\r\n", f"{self.name}_1", 1.0, 1)

    def hangup(self, api_key: OpenAIApiKey, openai_call_id: str, *, deadline: float) -> bool:
        self.hung_up.append(openai_call_id)
        return True


@pytest.mark.parametrize("stack_api", ["realtime", "live"])
def test_each_call_ends_with_the_api_that_opened_it(stack_api: str) -> None:
    realtime, live = RecordingApi("rtc"), RecordingApi("live")
    calls = CallsOfEitherApi(live if stack_api == "live" else realtime, realtime=realtime, live=live)

    opened = calls.create(KEY, "v=0\r\n", {}, deadline=0.0)
    calls.hangup(KEY, "rtc_0123456789abcdef", deadline=0.0)
    calls.hangup(KEY, "live_0123456789abcdef", deadline=0.0)
    calls.hangup(KEY, "sess_abc", deadline=0.0)  # Azure's form: anything not rtc_ is a GPT-Live session

    assert opened.openai_call_id == ("live_1" if stack_api == "live" else "rtc_1")
    assert (realtime.created, live.created) == ((0, 1) if stack_api == "live" else (1, 0))
    assert realtime.hung_up == ["rtc_0123456789abcdef"]
    assert live.hung_up == ["live_0123456789abcdef", "sess_abc"]


def test_only_rtc_ids_are_realtime_calls() -> None:
    assert opened_by_realtime("rtc_abc")
    assert not opened_by_realtime("live_abc")
    assert not opened_by_realtime("xrtc_abc")
