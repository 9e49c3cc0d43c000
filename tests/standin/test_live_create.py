"""`POST /v1/live/sessions` as GPT-Live answers it: strict JSON, OpenAI's error envelope, 201 with
the `live_…` id and the SDP answer in the body."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from openai.types.live import LiveCreateParams
from pydantic import TypeAdapter

from tests.standin.live_client import MODEL, PAGE_CHANNEL, LiveClient, create_body, live_state, post_create
from tests.standin.realtime_client import running_standin

OFFER = "v=0\r\n"  # never reached: each body below is refused before its offer is read
CREATE_PARAMS: TypeAdapter[Any] = TypeAdapter(LiveCreateParams)

REFUSED: list[tuple[str, dict[str, Any], str | None, str]] = [
    (
        "unknown top-level field",
        {"session": {"model": MODEL}, "transport": {"type": "webrtc", "sdp": OFFER}, "x": 1},
        "unknown_parameter",
        "x",
    ),
    (
        "unknown session field",
        create_body(OFFER, modalities=["audio"]),
        "unknown_parameter",
        "session.modalities",
    ),
    (
        "unknown nested field",
        create_body(OFFER, client={"data_channel": {"allowed_client_events": "all", "mode": 1}}),
        "unknown_parameter",
        "session.client.data_channel.mode",
    ),
    (
        "missing session",
        {"transport": {"type": "webrtc", "sdp": OFFER}},
        "missing_required_parameter",
        "session",
    ),
    (
        "missing model",
        {"session": {}, "transport": {"type": "webrtc", "sdp": OFFER}},
        "missing_required_parameter",
        "session.model",
    ),
    (
        "missing sdp",
        {"session": {"model": MODEL}, "transport": {"type": "webrtc"}},
        "missing_required_parameter",
        "transport.sdp",
    ),
    ("a Realtime model", create_body(OFFER, model="gpt-realtime"), "invalid_model", "session.model"),
    ("an unknown model", create_body(OFFER, model="gpt-live-9"), "invalid_model", "session.model"),
    (
        "audio.format",
        create_body(OFFER, audio={"format": {"type": "audio/pcm", "rate": 24000}}),
        "unknown_parameter",
        "session.audio.format",
    ),
    (
        "a voice not built in",
        create_body(OFFER, audio={"output": {"voice": "nova"}}),
        "invalid_value",
        "session.audio.output.voice",
    ),
    (
        "a custom voice",
        create_body(OFFER, audio={"output": {"voice": {"id": "voice_123"}}}),
        "invalid_value",
        "session.audio.output.voice",
    ),
    (
        "129 input messages",
        create_body(OFFER, input=[{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}] * 129),
        "invalid_value",
        "session.input",
    ),
    (
        "two content parts",
        create_body(OFFER, input=[{"role": "user", "content": [{"type": "input_text", "text": "a"}] * 2}]),
        "invalid_value",
        "session.input[0].content",
    ),
    (
        "no content part",
        create_body(OFFER, input=[{"role": "user", "content": []}]),
        "invalid_value",
        "session.input[0].content",
    ),
    (
        "an assistant part on a user message",
        create_body(OFFER, input=[{"role": "user", "content": [{"type": "output_text", "text": "a"}]}]),
        "invalid_value",
        "session.input[0].content[0].type",
    ),
    (
        "a user part on an assistant message",
        create_body(OFFER, input=[{"role": "assistant", "content": [{"type": "input_text", "text": "a"}]}]),
        None,
        "session.input[0].content[0].type",
    ),
    (
        "a system message",
        create_body(OFFER, input=[{"role": "system", "content": [{"type": "input_text", "text": "a"}]}]),
        "invalid_value",
        "session.input[0].role",
    ),
    (
        "input over 8,192 tokens",
        create_body(
            OFFER, input=[{"role": "user", "content": [{"type": "input_text", "text": "x" * 40000}]}]
        ),
        "invalid_value",
        "session.input",
    ),
    (
        "instructions over 16,384 tokens",
        create_body(OFFER, instructions="word " * 14000),
        "string_above_max_length",
        "session.instructions",
    ),
    (
        "responses delegation without a model",
        create_body(OFFER, delegation={"type": "responses", "responses": {"instructions": "x"}}),
        "missing_required_parameter",
        "session.delegation.responses.model",
    ),
    (
        "an mcp tool",
        create_body(
            OFFER,
            delegation={
                "type": "responses",
                "responses": {
                    "model": "gpt-5.5",
                    "tools": [{"type": "mcp", "server_label": "x", "server_url": "https://mcp.example"}],
                },
            },
        ),
        "invalid_value",
        "session.delegation.responses.tools[0].type",
    ),
    (
        "a file_search tool",
        create_body(
            OFFER,
            delegation={
                "type": "responses",
                "responses": {
                    "model": "gpt-5.5",
                    "tools": [
                        {"type": "function", "name": "f"},
                        {"type": "file_search", "vector_store_ids": ["vs_1"]},
                    ],
                },
            },
        ),
        "invalid_value",
        "session.delegation.responses.tools[1].type",
    ),
    (
        "idle_timeout_s zero",
        create_body(OFFER, wake_policy={"type": "speech"}, idle_timeout_s=0),
        "invalid_value",
        "session.idle_timeout_s",
    ),
    (
        "idle_timeout_s negative",
        create_body(OFFER, idle_timeout_s=-5),
        "invalid_value",
        "session.idle_timeout_s",
    ),
    (
        "idle_timeout_s fractional",
        create_body(OFFER, idle_timeout_s=1.5),
        "invalid_type",
        "session.idle_timeout_s",
    ),
    (
        "idle_timeout_s a string",
        create_body(OFFER, idle_timeout_s="30"),
        "invalid_type",
        "session.idle_timeout_s",
    ),
    (
        "a response.event selector without response_event",
        create_body(OFFER, client={"data_channel": {"allowed_server_events": [{"type": "response.event"}]}}),
        "missing_required_parameter",
        "session.client.data_channel.allowed_server_events[0].response_event",
    ),
    (
        "transport not webrtc",
        {"session": {"model": MODEL}, "transport": {"type": "websocket", "sdp": OFFER}},
        "invalid_value",
        "transport.type",
    ),
]


@pytest.mark.parametrize(("case", "body", "code", "param"), REFUSED, ids=[case[0] for case in REFUSED])
async def test_a_body_openai_refuses_gets_400_with_its_error_envelope(
    case: str, body: dict[str, Any], code: str | None, param: str
) -> None:
    async with running_standin() as standin:
        status, answer, _ = await post_create(standin, body)
        state = await standin.state()
    assert status == 400, (case, answer)
    assert set(answer) == {"error"}
    assert set(answer["error"]) == {"message", "type", "param", "code"}
    assert answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["param"] == param, answer
    if code is not None:
        assert answer["error"]["code"] == code, answer
    assert answer["error"]["message"]
    assert state["live_sessions"] == []


async def test_a_full_valid_body_is_accepted_and_recorded_without_its_sdp() -> None:
    async with running_standin() as standin:
        client = LiveClient()
        session: dict[str, Any] = {
            "instructions": "Be brief.",
            "audio": {"output": {"voice": "cedar"}},
            "client": PAGE_CHANNEL,
            "delegation": {
                "type": "responses",
                "responses": {
                    "model": "gpt-5.5",
                    "instructions": "Backend prompt.",
                    "tools": [
                        {"type": "function", "name": "get_current_time", "parameters": {"type": "object"}},
                        {"type": "web_search"},
                    ],
                },
            },
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "Hello"}],
                },
            ],
            "safety_identifier": "u_abc",
            "store": False,
            "wake_policy": {"type": "speech", "vad_threshold": 0.6},
            "idle_timeout_s": 30,
        }
        body = create_body(await client.offer(), **session)
        CREATE_PARAMS.validate_python(body, strict=True)  # what we post is what the SDK would post
        status, answer, response = await post_create(standin, body)
        state = await live_state(standin, answer["session"]["id"])
        await client.close()
    assert status == 201, answer
    assert "Location" not in response.headers
    assert answer["session"]["id"].startswith("live_") and len(answer["session"]["id"]) > 20
    assert answer["transport"]["type"] == "webrtc" and answer["transport"]["sdp"].startswith("v=0")
    assert state["created_body"] == {"session": {"model": MODEL, **session}, "transport": {"type": "webrtc"}}
    assert state["session"]["audio"] == {"output": {"voice": "cedar"}}
    assert state["session"]["delegation"]["responses"]["model"] == "gpt-5.5"


async def test_the_minimal_body_gets_openai_defaults() -> None:
    async with running_standin() as standin:
        client = LiveClient()
        await client.create(standin)
        started = await client.wait_for_type("session.started")
        await client.close()
    resource = started["session"]
    assert resource["model"] == MODEL and resource["status"] == "active"
    assert resource["audio"] == {"output": {"voice": "marin"}}
    assert resource["delegation"]["type"] == "client"
    assert resource["store"] is False
    assert resource["instructions"]  # blank or omitted instructions use the server's


async def test_keys_content_type_json_and_offer_are_checked() -> None:
    async with running_standin() as standin:
        body = create_body("not an offer")
        no_key = await post_create(standin, body, token=None)
        wrong_key = await post_create(standin, body, token="sk-wrong-0123456789abcdef")
        ephemeral = await post_create(standin, body, token="ek_0123456789abcdef0123456789abcdef")
        sdp_body = await post_create(standin, "v=0\r\n", content_type="application/sdp")
        not_json = await post_create(standin, "{not json", content_type="application/json")
        bad_offer = await post_create(standin, body)
    assert no_key[0] == 401
    assert (wrong_key[0], wrong_key[1]["error"]["code"]) == (401, "invalid_api_key")
    assert (ephemeral[0], ephemeral[1]["error"]["code"]) == (401, "invalid_api_key")
    assert (sdp_body[0], sdp_body[1]["error"]["code"]) == (400, "unsupported_content_type")
    assert (not_json[0], not_json[1]["error"]["code"]) == (400, "invalid_json")
    assert bad_offer[0] == 400
    assert (bad_offer[1]["error"]["code"], bad_offer[1]["error"]["param"]) == (
        "invalid_offer",
        "transport.sdp",
    )


async def test_the_realtime_create_options_apply_latency_and_injected_failures() -> None:
    async with running_standin(calls_delay_ms=300) as standin:
        client, refused = LiveClient(), LiveClient()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await client.create(standin)
        elapsed = loop.time() - started
        standin.standin.options.calls_status = 503
        status, answer, _ = await post_create(standin, create_body(await refused.offer()))
        for peer in (client, refused):
            await peer.close()
    assert elapsed >= 0.3
    assert (status, answer["error"]["type"]) == (503, "server_error")
