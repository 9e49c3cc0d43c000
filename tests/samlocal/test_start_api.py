"""`sam local start-api` answers curl the way the deployed API does: statuses, error codes, Allow on 405.

One `sam local start-api --warm-containers EAGER` for the module (the container starts with the API, so
requests meet a warm function), driven with curl exactly as docs/local-stack.md shows. start-api passes the
client's headers through, so it is the execute-api URL: curl plays CloudFront by sending what the
distribution adds (the origin-verify header and a viewer address, a new visitor per request unless a
test names one); without the header the function refuses, as the deployed execute-api URL does.

This API's quota is 2 client secrets per visitor, so the quota test needs three requests; the other
tests never meet it, each being its own visitor.
"""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.samlocal.conftest import SamLocal, stop
from tests.samlocal.standins import ORIGIN_VERIFY, Standins

pytestmark = pytest.mark.slow

QUOTA_PER_VISITOR = 2
# Viewer addresses for this module's requests (TEST-NET-2): none of the events' visitors, whose
# `sam local invoke` mints count in the same quota table.
_VISITORS = (f"198.51.100.{n}" for n in itertools.count(1))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def error_code(self) -> str:
        return str(json.loads(self.body)["error"]["code"])


@dataclass
class LocalApi:
    url: str

    def curl(
        self,
        *args: str,
        path: str = "/api/session",
        origin_verify: str | None = ORIGIN_VERIFY,
        visitor: str | None = None,
    ) -> Reply:
        """curl as CloudFront would forward it: `origin_verify=None` leaves the header out (a direct
        call to the execute-api URL); `visitor` is the viewer's IP (a new one unless given)."""
        added = ["-H", f"cloudfront-viewer-address: {visitor or next(_VISITORS)}:50123"]
        if origin_verify is not None:
            added += ["-H", f"x-origin-verify: {origin_verify}"]
        result = subprocess.run(
            ["curl", "-sS", "--max-time", "60", "-D", "-", *added, *args, f"{self.url}{path}"],
            capture_output=True,
            text=True,
            timeout=90,
            check=True,
        )
        head, _, body = result.stdout.replace("\r\n", "\n").partition("\n\n")
        status_line, *header_lines = head.splitlines()
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
        return Reply(int(status_line.split()[1]), headers, body)


@pytest.fixture(scope="module")
def local_api(
    sam_local: SamLocal, standins: Standins, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalApi]:
    port = _free_port()
    folder = tmp_path_factory.mktemp("start-api")
    log_path: Path = folder / "sam.log"
    env_vars = folder / "vend-env.json"
    env_vars.write_text(json.dumps(standins.env_vars(quota_per_visitor=QUOTA_PER_VISITOR)))
    started = time.monotonic()
    with log_path.open("w") as log:
        sam = subprocess.Popen(
            sam_local.with_env_vars(env_vars).command(
                "start-api", "--host", "127.0.0.1", "--port", str(port), "--warm-containers", "EAGER"
            ),
            env=sam_local.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        while "Running on http://127.0.0.1" not in log_path.read_text():
            assert sam.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.5)
        print(f"\nsam local start-api ready in {time.monotonic() - started:.1f} s")
        yield LocalApi(f"http://127.0.0.1:{port}")
    finally:
        # SIGTERM lets SAM remove its warm containers; the sam_local fixture removes any it left.
        stop(sam)


def test_a_post_mints_a_client_secret_that_is_never_cached(local_api: LocalApi) -> None:
    started = time.monotonic()
    reply = local_api.curl("-X", "POST", "-H", "content-type: application/json", "-d", "{}")
    print(f"\nfirst request through start-api: {time.monotonic() - started:.2f} s")

    assert reply.status == 200, reply.body[-500:]
    assert json.loads(reply.body)["value"].startswith("ek_")
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["content-type"].startswith("application/json")


def test_a_voice_from_the_allow_list_is_minted_with_it(local_api: LocalApi) -> None:
    reply = local_api.curl("-X", "POST", "-H", "content-type: application/json", "-d", '{"voice": "cedar"}')

    assert reply.status == 200, reply.body[-500:]
    assert json.loads(reply.body)["session"]["audio"]["output"]["voice"] == "cedar"


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_another_method_is_405_with_allow_post(local_api: LocalApi, method: str) -> None:
    reply = local_api.curl("-X", method)

    assert (reply.status, reply.error_code, reply.headers.get("allow")) == (405, "method_not_allowed", "POST")


@pytest.mark.parametrize(
    ("curl_args", "path", "status", "code"),
    [
        (["-d", "{not json"], "/api/session", 400, "invalid_json"),
        (["-d", "[]"], "/api/session", 400, "invalid_body"),
        (["-d", '{"model": "gpt-4o"}'], "/api/session", 400, "unknown_field"),
        (["-d", '{"voice": "nobody"}'], "/api/session", 400, "voice_not_allowed"),
        (["-d", "{}"], "/api/other", 404, "not_found"),
        (["-d", "{" + '"voice": "' + "x" * 5000 + '"}'], "/api/session", 413, "payload_too_large"),
    ],
)
def test_bad_requests_get_the_documented_status_and_code(
    local_api: LocalApi, curl_args: list[str], path: str, status: int, code: str
) -> None:
    reply = local_api.curl("-X", "POST", "-H", "content-type: application/json", *curl_args, path=path)

    assert (reply.status, reply.error_code) == (status, code)


def test_a_body_that_is_not_json_media_type_is_415(local_api: LocalApi) -> None:
    reply = local_api.curl("-X", "POST", "-H", "content-type: text/plain", "-d", "{}")

    assert (reply.status, reply.error_code) == (415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("origin_verify", "method", "path"),
    [
        (None, "POST", "/api/session"),
        ("not-the-origin-secret-0123456789abcdef0123456789", "POST", "/api/session"),
        (None, "GET", "/api/other"),
    ],
    ids=["no-header", "wrong-header", "no-header-other-path"],
)
def test_a_request_without_the_origin_header_is_403_forbidden(
    local_api: LocalApi, origin_verify: str | None, method: str, path: str
) -> None:
    request = ("-X", method, "-H", "content-type: application/json", "-d", "{}")
    reply = local_api.curl(*request, path=path, origin_verify=origin_verify)

    assert (reply.status, reply.error_code) == (403, "forbidden"), reply.body[-500:]
    assert json.loads(reply.body)["error"]["message"] == "Forbidden."


def test_the_same_request_with_the_events_origin_header_mints(local_api: LocalApi) -> None:
    request = ("-X", "POST", "-H", "content-type: application/json", "-d", "{}")

    refused = local_api.curl(*request, origin_verify=None)
    minted = local_api.curl(*request, origin_verify=ORIGIN_VERIFY)

    assert refused.status == 403
    assert minted.status == 200, minted.body[-500:]
    assert json.loads(minted.body)["value"].startswith("ek_")


def test_a_cross_site_request_is_refused(local_api: LocalApi) -> None:
    page = ("-H", "origin: https://attacker.example", "-H", "sec-fetch-site: cross-site")
    reply = local_api.curl("-X", "POST", "-H", "content-type: application/json", *page, "-d", "{}")

    assert (reply.status, reply.error_code) == (403, "cross_site_request")


def test_a_visitor_past_the_quota_gets_429_with_a_true_retry_after(local_api: LocalApi) -> None:
    visitor = next(_VISITORS)
    request = ("-X", "POST", "-H", "content-type: application/json", "-d", "{}")

    allowed = [local_api.curl(*request, visitor=visitor).status for _ in range(QUOTA_PER_VISITOR)]
    refused = local_api.curl(*request, visitor=visitor)
    bystander = local_api.curl(*request)

    assert allowed == [200] * QUOTA_PER_VISITOR
    assert (refused.status, refused.error_code) == (429, "quota_exceeded"), refused.body[-500:]
    # Seconds to the end of the (one-day) window: positive, and never past it.
    assert 0 < int(refused.headers["retry-after"]) <= 86400
    assert bystander.status == 200, bystander.body[-500:]
