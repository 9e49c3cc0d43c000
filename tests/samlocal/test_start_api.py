"""`sam local start-api` answers curl the way the deployed API does: statuses, error codes, Allow on 405.

One `sam local start-api --warm-containers EAGER` for the module (the container starts with the API, so
requests meet a warm function), driven with curl exactly as the README shows.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.samlocal.conftest import SamLocal, stop

pytestmark = pytest.mark.slow


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

    def curl(self, *args: str, path: str = "/api/session") -> Reply:
        result = subprocess.run(
            ["curl", "-sS", "--max-time", "60", "-D", "-", *args, f"{self.url}{path}"],
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
def local_api(sam_local: SamLocal, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApi]:
    port = _free_port()
    log_path: Path = tmp_path_factory.mktemp("start-api") / "sam.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        sam = subprocess.Popen(
            sam_local.command(
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
