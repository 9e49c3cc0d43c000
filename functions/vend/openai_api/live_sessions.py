"""`POST /v1/live/sessions` (GPT-Live over WebRTC) and ending such a session: the server opens and
ends GPT-Live calls.

The browser's SDP offer goes to OpenAI as JSON with the real key and the server's session
(`{"session": …, "transport": {"type": "webrtc", "sdp": offer}}`); OpenAI answers 201 with
`{"session": {"id": "live_…"}, "transport": {"type": "webrtc", "sdp": answer}}`.

Each create bills at least 15 s, so it is never repeated once OpenAI may have received it: only a
failure to connect is retried. Ending one is `session.close` over the sideband (the documented way
for WebRTC), then `POST …/hangup`, which OpenAI documents for SIP only: tried, never relied on.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

from vend.errors import UpstreamUnavailable, VendError
from vend.observability import annotate
from vend.openai_api.http import OpenAIHttp
from vend.secret_values import OpenAIApiKey
from vend.upstream import OpenedCall

PATH = "/v1/live/sessions"
# An id our call record and the hangup path can hold. Opaque to us ("preserve the returned value
# unchanged, including its prefix"): `live_…` in OpenAI's guide, `sess_…` in Azure's, so no prefix is
# required, only characters that are safe in a URL path.
_SESSION_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,159}")
HANGUP_SECONDS = 2.0  # the best-effort second step gets little of the deadline: nothing waits on it


class LiveCloser(Protocol):
    """openai_api/live_close.py's `close_live_session`: attach, `session.close`, wait for `session.closed`.
    True if the session was live, False if it was already over."""

    def __call__(self, base_url: str, api_key: OpenAIApiKey, session_id: str, *, deadline: float) -> bool: ...


class LiveSessionsApi:
    """The relay's CallsApi (logic/relay.py) for GPT-Live: same create/hangup, so the relay, the
    scheduled hangup and the kill switch end live sessions unchanged."""

    def __init__(
        self,
        http: OpenAIHttp,
        base_url: str,
        close: LiveCloser,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._base_url = base_url
        self._close = close
        self._clock = clock

    def create(
        self,
        api_key: OpenAIApiKey,
        offer_sdp: str,
        session: dict[str, Any],
        *,
        deadline: float,
        safety_identifier: str | None = None,
    ) -> OpenedCall:
        # `safety_identifier` is already in `session` (GPT-Live's own field, logic/live_session_config.py).
        del safety_identifier
        body = {"session": session, "transport": {"type": "webrtc", "sdp": offer_sdp}}
        reply = self._http.post(PATH, api_key, deadline=deadline, json_body=body, retry_after_send=False)
        response = reply.response
        session_id, answer = _created(response.status_code, response.content)
        return OpenedCall(answer, session_id, reply.latency_ms, reply.attempts)

    def hangup(self, api_key: OpenAIApiKey, openai_call_id: str, *, deadline: float) -> bool:
        """End the session; True if it was live, False if OpenAI says it is already over.

        A close that fails still gets the hangup tried before its error goes up to the relay."""
        live = True
        try:
            live = self._close(self._base_url, api_key, openai_call_id, deadline=deadline)
        finally:
            if live:  # an already-over session needs nothing more
                self._try_sip_hangup(api_key, openai_call_id, deadline)
        return live

    def _try_sip_hangup(self, api_key: OpenAIApiKey, session_id: str, deadline: float) -> None:
        """Documented for SIP only; if it also ends WebRTC sessions, a close that failed still ends
        the session. Its outcome changes nothing, so it is only noted in the request's log line."""
        if not _SESSION_ID.fullmatch(session_id):
            annotate(sip_hangup="skipped")
            return
        try:
            reply = self._http.post(
                f"{PATH}/{session_id}/hangup",
                api_key,
                deadline=min(deadline, self._clock() + HANGUP_SECONDS),
                also_fine=frozenset({404}),
                retry_after_send=False,
            )
        except VendError as error:
            annotate(sip_hangup=error.code)
            return
        annotate(sip_hangup=reply.response.status_code)


def _created(status: int, content: bytes) -> tuple[str, str]:
    """The session id and the SDP answer of a 201, or the Realtime create's errors (nothing of the
    body is kept: it carries the id)."""
    if status != 201:
        raise UpstreamUnavailable(f"openai_session_status_{status}", upstream_status=status)
    try:
        document = json.loads(content)
    except (ValueError, RecursionError):
        raise UpstreamUnavailable("openai_session_body_not_json", upstream_status=status) from None
    session = document.get("session") if isinstance(document, dict) else None
    session_id = session.get("id") if isinstance(session, dict) else None
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        raise UpstreamUnavailable("openai_session_without_id", upstream_status=status)
    transport = document.get("transport")
    answer = transport.get("sdp") if isinstance(transport, dict) else None
    if not isinstance(answer, str) or not answer.startswith("v=0"):
        raise UpstreamUnavailable("openai_session_answer_not_sdp", upstream_status=status)
    return session_id, answer
