"""POST /v1/realtime/calls, hangup, CORS and the control API, at the HTTP level."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.standin.realtime_client import API_KEY, RealtimeClient, RunningStandin, eventually, running_standin

CALLS = "/v1/realtime/calls"


async def _post_sdp(standin: RunningStandin, sdp: str, token: str) -> aiohttp.ClientResponse:
    return await standin.http.post(
        f"{standin.base_url}{CALLS}",
        data=sdp,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
    )


async def _offer() -> tuple[RealtimeClient, str]:
    client = RealtimeClient()
    return client, await client.offer()


async def test_an_ek_offer_gets_201_an_sdp_answer_and_the_call_location() -> None:
    async with running_standin() as standin:
        secret = await standin.client_secret()
        client, offer = await _offer()
        async with await _post_sdp(standin, offer, secret["value"]) as response:
            assert response.status == 201
            assert response.content_type == "application/sdp"
            location = response.headers["Location"]
            answer = await response.text()
        await client.close()
        assert location.startswith("/v1/realtime/calls/rtc_")
        assert answer.startswith("v=0")
        assert "a=candidate:" in answer
        assert "127.0.0.1" in answer
        assert "opus/48000/2" in answer
        (call,) = (await standin.state())["calls"]
        assert call["id"] == location.rsplit("/", 1)[-1]
        assert call["session"]["id"] == secret["session"]["id"]
        assert len(call["ek_sha256"]) == 12
        assert secret["value"] not in str(await standin.state())


async def test_one_ek_can_open_several_calls_until_it_expires() -> None:
    async with running_standin() as standin:
        secret = await standin.client_secret({"expires_after": {"seconds": 10}})
        clients = []
        for _ in range(2):
            client, offer = await _offer()
            clients.append(client)
            async with await _post_sdp(standin, offer, secret["value"]) as response:
                assert response.status == 201
        async with standin.http.post(
            f"{standin.base_url}/__standin/clock", json={"advance_seconds": 11}
        ) as r:
            assert r.status == 200
        client, offer = await _offer()
        clients.append(client)
        async with await _post_sdp(standin, offer, secret["value"]) as response:
            assert response.status == 401
            body = await response.json()
        assert body["error"]["code"] == "invalid_api_key"
        assert "expired" in body["error"]["message"]
        for client in clients:
            await client.close()


async def test_an_unknown_ek_is_refused_with_401() -> None:
    async with running_standin() as standin:
        client, offer = await _offer()
        async with await _post_sdp(standin, offer, "ek_0000") as response:
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "invalid_api_key"
        await client.close()


async def test_malformed_sdp_is_a_400_with_an_openai_error() -> None:
    async with running_standin() as standin:
        secret = await standin.client_secret()
        client, offer = await _offer()
        await client.close()
        broken = [offer.replace("a=fingerprint:", "a=x-fingerprint:"), offer.replace("m=audio", "m=video")]
        for bad in ["", "hello", "v=0\r\ns=-\r\n", *broken]:
            async with await _post_sdp(standin, bad, secret["value"]) as response:
                assert response.status == 400
                error = (await response.json())["error"]
                assert error["type"] == "invalid_request_error"
                assert error["param"] == "sdp"


async def test_the_unified_interface_takes_multipart_sdp_and_session_with_the_api_key() -> None:
    async with running_standin() as standin:
        client, offer = await _offer()
        form = aiohttp.FormData()
        form.add_field("sdp", offer, content_type="application/sdp")
        form.add_field(
            "session", '{"type": "realtime", "instructions": "Unified."}', content_type="application/json"
        )
        async with standin.http.post(
            f"{standin.base_url}{CALLS}", data=form, headers={"Authorization": f"Bearer {API_KEY}"}
        ) as response:
            assert response.status == 201
            assert response.headers["Location"].startswith("/v1/realtime/calls/rtc_")
        await client.close()
        (call,) = (await standin.state())["calls"]
        assert call["session"]["instructions"] == "Unified."
        assert call["ek_sha256"] is None


async def test_a_multipart_session_is_validated_strictly() -> None:
    async with running_standin() as standin:
        client, offer = await _offer()
        form = aiohttp.FormData()
        form.add_field("sdp", offer, content_type="application/sdp")
        form.add_field("session", '{"type": "realtime", "voice": "alloy"}', content_type="application/json")
        async with standin.http.post(
            f"{standin.base_url}{CALLS}", data=form, headers={"Authorization": f"Bearer {API_KEY}"}
        ) as response:
            assert response.status == 400
            assert (await response.json())["error"]["param"] == "session.voice"
        await client.close()


async def test_calls_status_makes_the_calls_endpoint_refuse() -> None:
    async with running_standin(calls_status=429) as standin:
        secret = await standin.client_secret()
        async with await _post_sdp(standin, "v=0", secret["value"]) as response:
            assert response.status == 429
            assert (await response.json())["error"]["code"] == "rate_limit_exceeded"


async def test_hangup_with_the_api_key_ends_the_call_for_the_client_too() -> None:
    async with running_standin() as standin:
        secret = await standin.client_secret()
        client = RealtimeClient()
        call_id = await client.connect(standin, secret["value"])
        url = f"{standin.base_url}{CALLS}/{call_id}/hangup"
        async with standin.http.post(url, headers={"Authorization": f"Bearer {secret['value']}"}) as response:
            assert response.status == 401
        async with standin.http.post(url, headers={"Authorization": f"Bearer {API_KEY}"}) as response:
            assert response.status == 200
        await eventually(lambda: client.channel.readyState == "closed")
        (call,) = (await standin.state())["calls"]
        assert (call["state"], call["end_reason"]) == ("closed", "hangup")
        missing = f"{standin.base_url}{CALLS}/rtc_nope/hangup"
        async with standin.http.post(missing, headers={"Authorization": f"Bearer {API_KEY}"}) as response:
            assert response.status == 404
        await client.close()


async def test_cors_lets_a_page_on_another_origin_post_and_read_location() -> None:
    async with running_standin() as standin:
        async with standin.http.options(
            f"{standin.base_url}{CALLS}",
            headers={
                "Origin": "http://127.0.0.1:9999",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        ) as response:
            assert response.status == 204
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            allowed = response.headers["Access-Control-Allow-Headers"].lower()
            assert "authorization" in allowed
            assert "content-type" in allowed
            assert "POST" in response.headers["Access-Control-Allow-Methods"]
        secret = await standin.client_secret()
        client, offer = await _offer()
        async with await _post_sdp(standin, offer, secret["value"]) as response:
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            assert "Location" in response.headers["Access-Control-Expose-Headers"]
        await client.close()
        async with standin.http.post(f"{standin.base_url}{CALLS}") as response:
            assert response.status == 401
            assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_options_can_be_patched_at_run_time_and_bad_patches_change_nothing() -> None:
    async with running_standin() as standin:
        url = f"{standin.base_url}/__standin/options"
        async with standin.http.patch(url, json={"media_delay_ms": 40, "calls_delay_ms": 5}) as response:
            assert response.status == 200
            options: dict[str, Any] = await response.json()
        assert (options["media_delay_ms"], options["calls_delay_ms"]) == (40, 5)
        assert API_KEY not in str(options)
        for bad in (
            {"media_delay_ms": -1},
            {"nope": 1},
            {"calls_status": 200},
            {"media_delay_ms": 0, "x": 1},
        ):
            async with standin.http.patch(url, json=bad) as response:
                assert response.status == 400
        assert standin.standin.options.media_delay_ms == 40


async def test_reset_forgets_calls_and_secrets() -> None:
    async with running_standin() as standin:
        secret = await standin.client_secret()
        client, offer = await _offer()
        async with await _post_sdp(standin, offer, secret["value"]) as response:
            assert response.status == 201
        async with standin.http.post(f"{standin.base_url}/__standin/reset") as response:
            assert response.status == 200
        state = await standin.state()
        assert (state["calls"], state["client_secrets_issued"]) == ([], 0)
        async with await _post_sdp(standin, offer, secret["value"]) as response:
            assert response.status == 401
        await client.close()


async def test_the_api_key_with_a_raw_sdp_offer_gets_a_default_session() -> None:
    async with running_standin() as standin:
        client, offer = await _offer()
        async with await _post_sdp(standin, offer, API_KEY) as response:
            assert response.status == 201
        await client.close()
        (call,) = (await standin.state())["calls"]
        assert call["session"]["model"] == "gpt-realtime"
        assert call["ek_sha256"] is None
