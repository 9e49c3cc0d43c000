"""Warm mints in one process under the invoke cap, each paired with a bare HTTPS round trip to the
same fake upstream, so that the handler's own time can be told from the upstream's.

    python -m bench.warm.child <handler module> <event.json> <requests> [fresh]   (started by bench.warm.run)

Also counts what the timed mints ask of each service (requests and new connections, at the fakes), and
with `fresh`, times bare round trips made with a new HTTP client each.
"""

from __future__ import annotations

import os
import sys
import time

from bench.lambda_child import enter_invoke_share, init, invoke, load_event, report, service_calls

WARM_UP = 20
FRESH_CLIENT_REQUESTS = 50
# The size and shape of what a mint sends upstream, so the bare round trip carries the same bytes.
BODY = {
    "expires_after": {"anchor": "created_at", "seconds": 60},
    "session": {
        "type": "realtime",
        "model": "gpt-realtime-2.1",
        "instructions": "You are a friendly, concise voice assistant. " * 4,
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "transcription": {"model": "gpt-4o-mini-transcribe"},
                "turn_detection": {"type": "server_vad"},
            },
            "output": {"voice": "marin"},
        },
        "max_output_tokens": 4096,
    },
}


def main() -> None:
    module, event_path, requests = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with_fresh_clients = sys.argv[4:] == ["fresh"]
    handler, _ = init(module)
    enter_invoke_share()
    event = load_event(event_path)

    import httpx  # noqa: PLC0415 - after the handler, which is what brings it

    url = os.environ["OPENAI_BASE_URL"] + "/v1/realtime/client_secrets"
    headers = {"Authorization": "Bearer " + os.environ["BENCH_OPENAI_KEY"]}

    def round_trip(client: httpx.Client) -> float:
        started = time.perf_counter()
        client.post(url, json=BODY, headers=headers).raise_for_status()
        return (time.perf_counter() - started) * 1000

    with httpx.Client(timeout=5) as bare:
        for number in range(WARM_UP):  # key cached, connections open, code paths hot
            invoke(handler, event, number)
            round_trip(bare)
        handler_ms, cpu_ms, bare_ms = [], [], []
        calls_before, started = service_calls(), time.monotonic()
        for number in range(requests):  # interleaved, so that a busy moment hits both alike
            cpu_started = time.process_time()
            handler_ms.append(invoke(handler, event, WARM_UP + number))
            cpu_ms.append((time.process_time() - cpu_started) * 1000)
            bare_ms.append(round_trip(bare))
        timed_s, calls_after = time.monotonic() - started, service_calls()
    calls = {name: n - calls_before.get(name, 0) for name, n in calls_after.items()}
    # The bare round trips are the bench's own: only the handler's calls to OpenAI count.
    calls["openai client_secrets"] = calls.get("openai client_secrets", 0) - requests

    fresh_ms = []
    for _ in range(FRESH_CLIENT_REQUESTS if with_fresh_clients else 0):
        # the common mistake: a client (TLS context, handshake) per request
        began = time.perf_counter()
        with httpx.Client(timeout=5) as fresh:
            round_trip(fresh)
        fresh_ms.append((time.perf_counter() - began) * 1000)
    figures = {"handler_ms": handler_ms, "cpu_ms": cpu_ms, "bare_ms": bare_ms, "fresh_client_ms": fresh_ms}
    report({**figures, "calls": calls, "timed_s": timed_s})


if __name__ == "__main__":
    main()
