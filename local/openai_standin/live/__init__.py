"""GPT-Live in the stand-in: `POST /v1/live/sessions`, its WebRTC session and the attach sideband.

What is emulated, as openai-python's `openai.types.live` types and OpenAI's guides describe it:
- Create = start: strict JSON (`LiveCreateParams`; unknown fields rejected at any level), 201
  `{"session": {"id": "live_…"}, "transport": {"type": "webrtc", "sdp": …}}`, no Location header.
  The Realtime create's latency and failure injection (`calls_delay_ms`, `calls_status`) apply.
- The `oai-events` data channel (any other label is closed, never answered) and the audio track.
  `client.data_channel` is enforced: a refused client event is dropped and answered with an `info`
  `data_channel_permissions` echoing its `event_id`; a server event outside the allow-list is not
  delivered to the channel. Sidebands are never restricted.
- `session.started` first; transcripts as `session.input_transcript.delta` /
  `session.output_transcript.delta` fragments (two words each) with `start_ms`/`end_ms` on the
  session timeline; no done events, no item ids. Output fragments follow the voice frames actually
  sent. Microphone turns as the Realtime stand-in detects them (mic.py), canned transcripts or the
  `mic_transcript` option.
- Mute/unmute, `session.update` (delegation settings of the same type, triggers), the appends'
  acknowledgements, `session.close`; `session.closed` then the channel, the peer connection and every
  sideband (1000) close.
- The sideband `GET /v1/live/sessions/{id}/attach`: every server event with the channel's event_id,
  plus what the channel's filter hides; its own errors go to it alone. Reflected audio
  (`session.input_audio.append`, `session.output_audio.delta`), option `live_reflect_audio`.
- Standby (standby.py), usage (usage_meter.py, usage_reports.py: `session.usage.updated` every
  `live_usage_interval_seconds`, final usage in `session.closed`, never below the 15 s billed at
  create), Responses delegation (delegation.py), expiry at `expires_at` (`session.closed`
  `expired`), and `POST …/hangup` per `live_webrtc_hangup`.
- Options (options.py, `--help`): `live_usage_interval_seconds` (60), `live_max_session_seconds`
  (3600), `live_reflect_audio` (on), `live_webrtc_hangup` (ignored).

Choices where OpenAI documents nothing:
- `session.started` is sent when `oai-events` opens; the `info` about a restricted channel right
  after it. A channel with both lists "all" (or omitted) counts as unrestricted: no `info`.
- The permission filter applies to `info` and `error` too (a page that does not list them does not
  get them); an `info`/`error` caused by the page also goes to the sidebands.
- Instructions and `input` tokens are estimated as characters / 4.
- A custom voice (`{"id": …}`) is refused with 400 `invalid_value`: no custom voice is authorised here.
- `remote_hangup` vs `connection_lost`: aiortc closes its peer whenever DTLS closes, so the stand-in
  looks at the wire: a browser that sent a packet in the last second hung up; one silent for ICE
  consent's failure window lost its connection. A browser that never connects (30 s) is
  `connection_lost` too. The stand-in shutting down or a control reset ends sessions as
  `connection_lost`.
- Decisions delegation, audio fixtures and SIP events are accepted by the schema but not emulated:
  their client events get an `error` (`unsupported_event`).
- The duration limit is 3600 s (`live_max_session_seconds`; OpenAI publishes none for WebRTC). A
  change through the control API applies to sessions created after it.
- Hangup on a WebRTC session: `ignored` (200, nothing happens) by default, to prove nothing relies
  on it; `honoured` closes with `close_requested` (what `[conv]` says of the SIP hangup).
- Standby: a wake-policy session starts paused (billed as paused) until the first speech; the
  assistant about to speak wakes it too; muted input neither wakes it nor keeps it awake; the idle
  clock restarts after each user turn and each utterance of the assistant.
- Delegation: a spoken turn goes to the backend only when it asks for a tool (tool_calls.py's rule,
  or "search"/"look up"/"latest"/"news" with `web_search` declared); typed text always does. The
  voice says a short acknowledgement at once (acknowledgement_delay_ms is not emulated). A
  function-call response completes (`response.completed`, with usage) before the output arrives;
  the output's `response.create` starts a second backend response with the assistant message.
  `response.create` while a call waits for its output is an `error`; so is an output for an unknown
  call id. Backend token counts are estimates (characters / 4).
- Reflected audio: 100 ms chunks; the microphone resampled to 24 kHz, the voice halved from 48 kHz;
  output deltas only while the assistant speaks, their ms on the session timeline.
- `context_window.usage_ratio`: see usage_reports.py.
"""
