"""Warm requests: the handler's own overhead per mint, and what a per-request HTTP client would cost.

    .venv/bin/python -m bench.warm [--requests 2000]

The upstream is an in-process loopback HTTP server that answers at once; Secrets Manager is moto, hit
once and then cached. Three rows, each p50/p99 over the same number of requests:
  - the bare upstream round trip (one keep-alive httpx request: the floor, not our code);
  - our warm handler (one reused client, keep-alive);
  - the same handler with an httpx.Client built per request (a common mistake).
Overhead = handler p50 minus the bare round trip p50.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "functions"))

from bench.fake_infra import BENCH_KEY, fake_infra  # noqa: E402
from tests.conftest import FakeLambdaContext, load_event  # noqa: E402


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def timed(action: Callable[[], object], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with fake_infra() as infra:
        os.environ.update(infra.env())
        app = importlib.import_module("vend.app")
        from vend.openai_client_secrets import ClientSecretsApi  # noqa: PLC0415

        event, context = load_event("mint"), FakeLambdaContext()
        sink = io.StringIO()
        for handler in app.logger.handlers:  # the log line is still formatted and written, to memory
            handler.setStream(sink)  # type: ignore[attr-defined]

        def mint() -> None:
            response = app.lambda_handler(event, context)
            assert response["statusCode"] == 200, response
            sink.seek(0)
            sink.truncate()

        with contextlib.redirect_stdout(sink):  # the log line and EMF are written, just not to a terminal
            for _ in range(50):
                mint()  # warm: key cached, connection open, code paths hot
            ours = timed(mint, args.requests)

            settings = app.SETTINGS
            vendor = app._client_secret_vendor(settings)

            def mint_with_fresh_client() -> None:
                vendor._api = ClientSecretsApi(settings.openai_base_url, connect_timeout=2, read_timeout=4)
                mint()
                vendor._api.close()

            per_request = timed(mint_with_fresh_client, max(200, args.requests // 5))

        with httpx.Client(base_url=infra.upstream_url) as bare:

            def round_trip() -> None:
                bare.post(
                    "/v1/realtime/client_secrets", json={}, headers={"Authorization": f"Bearer {BENCH_KEY}"}
                )

            timed(round_trip, 50)
            floor = timed(round_trip, args.requests)

    rows = {
        "upstream round trip alone": floor,
        "ours (warm, reused client)": ours,
        "client built per request": per_request,
    }
    floor_p50 = statistics.median(floor)
    print(f"\nWarm POST /api/session against an instant loopback upstream, {args.requests} requests\n")
    print(f"{'':28} {'p50':>8} {'p99':>8} {'overhead p50':>13} {'vs ours':>8}")
    ours_p50 = statistics.median(ours)
    for name, samples in rows.items():
        p50, p99 = percentiles(samples)
        print(f"{name:28} {p50:6.3f}ms {p99:6.3f}ms {p50 - floor_p50:11.3f}ms {p50 / ours_p50:7.2f}x")


if __name__ == "__main__":
    main()
