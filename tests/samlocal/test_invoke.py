"""`sam local invoke VendFunction -e events/<file>.json` gives what events/README.md documents, each file.

The function runs in the Lambda base-image stand-in under SAM's emulator, reads its key, the origin
secret and the visitor key from a Secrets Manager stand-in and the pause switch from SSM's, counts
mints in moto's quota table and mints from the OpenAI stand-in (standins.py). The events'
`x-origin-verify` is the origin secret's current value, so only direct-execute-api.json and
wrong-origin-header.json meet the 403. The quota is far above what the events mint. The first invoke
runs alone (SAM builds its emulator image on top of ours then); the rest run a few at a time, each a
separate `sam local invoke`.
"""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import EVENTS, documented_event_outcomes, load_event
from tests.samlocal.conftest import SamLocal
from tests.samlocal.standins import STANDIN_API_KEY

pytestmark = pytest.mark.slow

PARALLEL_INVOKES = 3  # SAM CLI's start-up is CPU-bound: more than this only queues on two cores


@dataclass
class Invocation:
    returncode: int
    response: dict[str, Any]
    stderr: str
    seconds: float

    @property
    def error_code(self) -> str:
        if self.response.get("statusCode", 0) < 400:
            return ""
        body: dict[str, Any] = json.loads(self.response["body"])
        return str(body["error"]["code"])


def _invoke(sam_local: SamLocal, event: str) -> Invocation:
    started = time.monotonic()
    result = subprocess.run(
        sam_local.command("invoke", "VendFunction", "--event", str(EVENTS / event)),
        env=sam_local.env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    response: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    return Invocation(result.returncode, response, result.stderr, time.monotonic() - started)


@pytest.fixture(scope="module")
def invocations(sam_local: SamLocal) -> dict[str, Invocation]:
    events = sorted(documented_event_outcomes())
    first, rest = "mint.json", [e for e in events if e != "mint.json"]
    started = time.monotonic()
    results = {first: _invoke(sam_local, first)}
    with ThreadPoolExecutor(max_workers=PARALLEL_INVOKES) as pool:
        results.update(zip(rest, pool.map(lambda event: _invoke(sam_local, event), rest), strict=True))
    timings = ", ".join(f"{name} {inv.seconds:.1f} s" for name, inv in results.items())
    print(f"\nsam local invoke x{len(results)} in {time.monotonic() - started:.1f} s wall ({timings})")
    return results


def test_every_event_file_has_a_documented_outcome() -> None:
    assert sorted(p.name for p in EVENTS.glob("*.json")) == sorted(documented_event_outcomes())


@pytest.mark.parametrize(("event", "expected"), sorted(documented_event_outcomes().items()))
def test_sam_local_invoke_gives_the_documented_status_and_code(
    invocations: dict[str, Invocation], event: str, expected: tuple[int, str]
) -> None:
    invocation = invocations[event]
    status, code = expected

    assert invocation.returncode == 0, invocation.stderr[-2000:]
    assert (invocation.response.get("statusCode"), invocation.error_code) == (status, code), (
        invocation.stderr[-2000:]
    )
    headers = {k.lower(): v for k, v in invocation.response.get("headers", {}).items()}
    if status == 200:
        assert json.loads(invocation.response["body"])["value"].startswith("ek_")
        assert headers["cache-control"] == "no-store"
    if status == 405:
        assert headers["allow"] == "POST"
    # The container's log is the Lambda log: it never carries the key it read, nor who was asking
    # (visitors are logged as keyed fingerprints).
    assert STANDIN_API_KEY not in invocation.stderr
    sent = load_event(event.removesuffix(".json"))
    viewer = sent["headers"].get("cloudfront-viewer-address", "")
    subject = sent["requestContext"].get("authorizer", {}).get("jwt", {}).get("claims", {}).get("sub", "")
    for identity in filter(None, [viewer.rpartition(":")[0], subject]):
        assert identity not in invocation.stderr
