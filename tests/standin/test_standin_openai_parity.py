"""The stand-in accepts what OpenAI accepts and refuses what it refuses, in both directions.

Where the Python SDK's TypedDicts and OpenAI's API reference disagree, the reference wins: it
documents `audio.input.noise_reduction` and `audio.input.transcription` as "can be set to `null` to
turn off", which the TypedDicts do not allow. What the browser SDKs send is taken from their
sources: @openai/agents-realtime (`OpenAIRealtimeWebRTC`, `_getMergedSessionConfig`) and openai-node.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.standin.realtime_client import API_KEY, RealtimeClient, RunningStandin, connected, running_standin

CALLS = "/v1/realtime/calls"
OFF = {"noise_reduction": None, "transcription": None}
# What @openai/agents-realtime sends in its first session.update by default (its
# DEFAULT_OPENAI_REALTIME_SESSION_CONFIG), with the model set to the one the secret was minted for.
AGENTS_SDK_SESSION_UPDATE: dict[str, Any] = {
    "type": "realtime",
    "instructions": "You are a helpful assistant.",
    "model": "gpt-realtime",
    "output_modalities": ["audio"],
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "noise_reduction": None,
            "transcription": {"model": "gpt-4o-mini-transcribe"},
            "turn_detection": {"type": "semantic_vad"},
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "speed": 1},
    },
}
# Request headers browsers announce in the preflight (lower case, as Chromium sends them).
AGENTS_SDK_HEADERS = "authorization,content-type,x-openai-agents-sdk"
OPENAI_NODE_HEADERS = (
    "authorization,content-type,openai-organization,openai-project,x-stainless-arch,x-stainless-lang,"
    "x-stainless-os,x-stainless-package-version,x-stainless-retry-count,x-stainless-runtime,"
    "x-stainless-runtime-version,x-stainless-timeout"
)


async def _call_session(standin: RunningStandin) -> dict[str, Any]:
    (call,) = (await standin.state())["calls"]
    session: dict[str, Any] = call["session"]
    return session


async def _multipart_call(
    standin: RunningStandin, token: str, session: dict[str, Any] | None
) -> tuple[aiohttp.ClientResponse, str, RealtimeClient]:
    client = RealtimeClient()
    form = aiohttp.FormData()
    form.add_field("sdp", await client.offer(), content_type="application/sdp")
    if session is not None:
        form.add_field("session", json.dumps(session), content_type="application/json")
    async with standin.http.post(
        f"{standin.base_url}{CALLS}", data=form, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        return response, await response.text(), client


# -- null turns a feature off, wherever a session is accepted ---------------------------------------


@pytest.mark.parametrize("field", sorted(OFF))
async def test_client_secrets_accept_null_to_turn_an_input_feature_off(field: str) -> None:
    async with running_standin() as standin:
        secret = await standin.client_secret(
            {"session": {"type": "realtime", "audio": {"input": {field: None}}}}
        )

    assert secret["session"]["audio"]["input"][field] is None


async def test_a_multipart_session_with_the_api_key_accepts_null_to_turn_features_off() -> None:
    async with running_standin() as standin:
        session = {"type": "realtime", "audio": {"input": OFF}}
        response, body, client = await _multipart_call(standin, API_KEY, session)
        await client.close()
        assert response.status == 201, body
        effective = await _call_session(standin)

    assert {key: effective["audio"]["input"][key] for key in OFF} == OFF


async def test_session_update_with_null_turns_transcription_and_noise_reduction_off() -> None:
    transcribed = {
        "type": "realtime",
        "audio": {
            "input": {
                "transcription": {"model": "gpt-4o-mini-transcribe"},
                "noise_reduction": {"type": "near_field"},
            }
        },
    }
    async with connected(transcribed) as (_, client):
        client.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": OFF}}})
        updated = await client.wait_for(lambda e: e["type"] in {"session.updated", "error"})

    assert updated["type"] == "session.updated", updated
    assert {key: updated["session"]["audio"]["input"][key] for key in OFF} == OFF


async def test_the_session_update_openais_agents_sdk_sends_first_is_accepted() -> None:
    async with connected({"type": "realtime", "model": "gpt-realtime"}) as (_, client):
        client.send({"type": "session.update", "session": AGENTS_SDK_SESSION_UPDATE})
        updated = await client.wait_for(lambda e: e["type"] in {"session.updated", "error"})

    assert updated["type"] == "session.updated", updated
    assert updated["session"]["audio"]["input"]["turn_detection"]["type"] == "semantic_vad"


async def test_null_is_still_refused_where_the_api_reference_does_not_allow_it() -> None:
    async with (
        running_standin() as standin,
        standin.http.post(
            f"{standin.base_url}/v1/realtime/client_secrets",
            json={"session": {"type": "realtime", "audio": {"output": {"voice": None}}}},
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as response,
    ):
        status, body = response.status, await response.json()

    assert status == 400
    assert body["error"]["param"] == "session.audio.output.voice"


# -- the model is fixed once the session starts ------------------------------------------------------


async def test_session_update_cannot_change_the_model_and_the_whole_update_is_refused() -> None:
    async with connected({"type": "realtime", "model": "gpt-realtime"}) as (standin, client):
        client.send(
            {
                "type": "session.update",
                "event_id": "evt_model",
                "session": {"type": "realtime", "model": "gpt-realtime-2.1", "instructions": "Changed."},
            }
        )
        error = await client.wait_for(lambda e: e["type"] in {"session.updated", "error"})
        client.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "model": "gpt-realtime", "instructions": "Same model."},
            }
        )
        same = await client.wait_for(
            lambda e: e["type"] in {"session.updated", "error"}, start=len(client.events)
        )
        effective = await _call_session(standin)

    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert (error["error"]["param"], error["error"]["event_id"]) == ("session.model", "evt_model")
    assert "model" in error["error"]["message"]
    assert same["type"] == "session.updated"
    assert (effective["model"], effective["instructions"]) == ("gpt-realtime", "Same model.")


# -- a client secret's session cannot be replaced by the caller ---------------------------------------


async def test_a_multipart_session_sent_with_a_client_secret_is_refused_with_a_clear_400() -> None:
    async with running_standin() as standin:
        secret = await standin.client_secret(
            {"session": {"type": "realtime", "model": "gpt-realtime", "instructions": "Server's."}}
        )
        replacement = {
            "type": "realtime",
            "model": "gpt-realtime-2.1",
            "instructions": "Mine now.",
            "max_output_tokens": 4096,
        }
        response, body, client = await _multipart_call(standin, secret["value"], replacement)
        await client.close()
        calls = (await standin.state())["calls"]

    assert response.status == 400
    error = json.loads(body)["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", "session")
    assert "client secret" in error["message"]
    assert calls == []


async def test_a_multipart_offer_without_a_session_part_uses_the_client_secrets_session() -> None:
    async with running_standin() as standin:
        secret = await standin.client_secret({"session": {"type": "realtime", "instructions": "Server's."}})
        response, body, client = await _multipart_call(standin, secret["value"], None)
        await client.close()
        assert response.status == 201, body
        effective = await _call_session(standin)

    assert (effective["id"], effective["instructions"]) == (secret["session"]["id"], "Server's.")


# -- CORS: the headers browser SDKs send pass the preflight ---------------------------------------------


async def _preflight(standin: RunningStandin, path: str, request_headers: str) -> aiohttp.ClientResponse:
    async with standin.http.options(
        f"{standin.base_url}{path}",
        headers={
            "Origin": "http://127.0.0.1:9999",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": request_headers,
        },
    ) as response:
        return response


def _allowed(response: aiohttp.ClientResponse) -> set[str]:
    return {h.strip().lower() for h in response.headers.get("Access-Control-Allow-Headers", "").split(",")}


@pytest.mark.parametrize(
    ("path", "request_headers"),
    [
        (CALLS, AGENTS_SDK_HEADERS),
        (CALLS, "authorization,content-type,openai-safety-identifier"),
        (f"{CALLS}/rtc_0123/hangup", OPENAI_NODE_HEADERS),
        ("/v1/realtime/client_secrets", OPENAI_NODE_HEADERS + ",x-stainless-helper-method"),
    ],
)
async def test_the_preflight_allows_every_header_openais_browser_sdks_send(
    path: str, request_headers: str
) -> None:
    async with running_standin() as standin:
        response = await _preflight(standin, path, request_headers)

    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert set(request_headers.split(",")) <= _allowed(response)


async def test_the_preflight_does_not_allow_a_header_openai_refuses() -> None:
    # openclaw/openclaw#76435: api.openai.com's preflight refused an `originator` header.
    async with running_standin() as standin:
        response = await _preflight(standin, CALLS, "authorization,content-type,originator")

    assert "authorization" in _allowed(response)
    assert "originator" not in _allowed(response)
