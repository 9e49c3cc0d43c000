"""`POST /v1/realtime/calls` (the unified interface) and `…/hangup`: the server opens and ends calls.

The browser's SDP offer goes to OpenAI with the real key and the server's session, as multipart
(`sdp` part, `session` part: the bare session object with `type: "realtime"`). OpenAI answers 201 with
the SDP answer and `Location: /v1/realtime/calls/rtc_…`, whose id is what `hangup` needs.
"""

from __future__ import annotations

import json
import re
from typing import Any

from vend.errors import UpstreamUnavailable
from vend.openai_api.http import OpenAIHttp
from vend.secret_values import OpenAIApiKey
from vend.upstream import OpenedCall

PATH = "/v1/realtime/calls"
_CALL_ID = re.compile(r"/v1/realtime/calls/(rtc_[A-Za-z0-9_-]{1,128})$")


class CallsApi:
    def __init__(self, http: OpenAIHttp) -> None:
        self._http = http

    def create(
        self,
        api_key: OpenAIApiKey,
        offer_sdp: str,
        session: dict[str, Any],
        *,
        deadline: float,
        safety_identifier: str | None = None,
    ) -> OpenedCall:
        files = {
            "sdp": (None, offer_sdp.encode(), "application/sdp"),
            "session": (None, json.dumps(session).encode(), "application/json"),
        }
        reply = self._http.post(
            PATH, api_key, deadline=deadline, files=files, safety_identifier=safety_identifier
        )
        response = reply.response
        match = _CALL_ID.search(response.headers.get("location", ""))
        if response.status_code != 201 or match is None:
            raise UpstreamUnavailable("openai_call_without_location", upstream_status=response.status_code)
        answer = response.text
        if not answer.startswith("v=0"):
            raise UpstreamUnavailable("openai_call_answer_not_sdp", upstream_status=response.status_code)
        return OpenedCall(answer, match.group(1), reply.latency_ms, reply.attempts)

    def hangup(self, api_key: OpenAIApiKey, openai_call_id: str, *, deadline: float) -> bool:
        """End the call; True if it was live, False if OpenAI says it is already over (404)."""
        reply = self._http.post(
            f"{PATH}/{openai_call_id}/hangup", api_key, deadline=deadline, also_fine=frozenset({404})
        )
        return reply.response.status_code != 404
