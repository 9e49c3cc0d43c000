"""`scripts/smoke` against the local stack (same page headers as CloudFront, the real handler) and against
small servers that get one thing wrong, so each check is shown to catch what it is for."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from local.stack import StackProcess
from smoke import checks
from smoke.checks import Reply
from template_contract.page_headers import page_headers

PLACEHOLDER = "REPLACE_ME: put your OpenAI API key here (see the stack outputs)"


def run_smoke(*argv: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    status = checks.main(list(argv), out=lines.append)
    return status, lines


def verdicts(lines: list[str]) -> dict[str, str]:
    """{check name: verdict} from the report lines ("PASS  page: ...")."""
    found = {}
    for line in lines[:-1]:
        verdict, rest = line.split(maxsplit=1)
        found[rest.split(":", 1)[0]] = verdict
    return found


@pytest.fixture(scope="module")
def local_stack() -> Iterator[StackProcess]:
    with StackProcess("--port", "0") as stack:
        yield stack


@pytest.fixture(scope="module")
def signed_in_stack() -> Iterator[StackProcess]:
    with StackProcess("--port", "0", "--auth", "oidc", "--mode", "both") as stack:
        yield stack


@pytest.fixture(scope="module")
def placeholder_stack() -> Iterator[StackProcess]:
    # The secret still holds the template's placeholder: the handler must say "put your key in".
    with StackProcess("--port", "0", env={**os.environ, "OPENAI_API_KEY": PLACEHOLDER}) as stack:
        yield stack


@pytest.mark.slow
def test_the_local_stack_passes_every_check_that_applies_to_it(local_stack: StackProcess) -> None:
    status, lines = run_smoke(local_stack.url, "--execute-api-url", local_stack.execute_api)

    assert status == 0, lines
    assert verdicts(lines) == {
        "config.json": "PASS",
        "page": "PASS",
        "https redirect": "SKIP",
        "POST /api/session": "PASS",
        "bucket refuses direct access": "SKIP",
        "execute-api URL refuses direct calls": "PASS",
    }
    assert "minted a client secret valid" in "\n".join(lines)
    assert "ek_" not in "\n".join(lines)  # the secret is a credential: never printed
    assert "not applicable" in next(line for line in lines if "bucket" in line)


@pytest.mark.slow
def test_a_signed_in_stack_passes_without_a_token_and_spends_nothing(signed_in_stack: StackProcess) -> None:
    status, lines = run_smoke(signed_in_stack.url, "--execute-api-url", signed_in_stack.execute_api)

    assert status == 0, lines
    assert verdicts(lines) == {
        "config.json": "PASS",
        "sign-in": "PASS",
        "page": "PASS",
        "https redirect": "SKIP",
        "POST /api/session": "PASS",
        "POST /api/call": "PASS",
        "bucket refuses direct access": "SKIP",
        "execute-api URL refuses direct calls": "PASS",
    }
    report = "\n".join(lines)
    assert "401 without a token" in report
    assert signed_in_stack.ready["issuer"] in report


def test_a_csp_that_does_not_allow_the_issuer_fails_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    issuer = "https://issuer.example.com/tenant"
    # Given a page served with the anonymous CSP while config.json names an issuer
    headers = Message()
    for name, value in {
        "Content-Type": "text/html",
        "Cache-Control": "no-cache",
        **page_headers("https://api.openai.com"),
    }.items():
        headers[name] = value
    monkeypatch.setattr(checks, "fetch", lambda url, **_: Reply(200, headers, b""))

    check = checks.check_page("https://d1.example.net/", "https://api.openai.com", [checks.origin_of(issuer)])

    assert check.verdict == "FAIL"
    assert "Content-Security-Policy" in check.detail and "https://issuer.example.com" in check.detail


@pytest.mark.slow
def test_a_placeholder_key_is_a_warning_that_says_what_to_run(placeholder_stack: StackProcess) -> None:
    status, lines = run_smoke(placeholder_stack.url)

    assert status == 0, lines
    assert verdicts(lines)["POST /api/session"] == "WARN"
    assert "run the PutKeyCommand from the stack's outputs" in "\n".join(lines)


@pytest.mark.slow
def test_a_placeholder_key_fails_when_a_key_is_required(placeholder_stack: StackProcess) -> None:
    status, lines = run_smoke(placeholder_stack.url, "--require-key")

    assert status == 1
    assert verdicts(lines)["POST /api/session"] == "FAIL"
    assert lines[-1].startswith("FAILED")


Responder = Callable[[BaseHTTPRequestHandler], None]


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, Responder]], str]]:
    """Starts a server answering each path with its responder; returns its base URL."""
    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(routes: dict[str, Responder]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                routes.get(self.path, lambda h: h.send_error(404))(self)

            do_GET = do_POST = _answer

            def log_message(self, *_: object) -> None:
                return None

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def reply(status: int, body: bytes, headers: dict[str, str]) -> Responder:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        handler.rfile.read(length)
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def site_routes(page_header_overrides: dict[str, str]) -> dict[str, Responder]:
    origin = "https://api.openai.com"
    config = {"sessionUrl": "/api/session", "realtimeCallsUrl": f"{origin}/v1/realtime/calls"}
    headers = {**page_headers(origin), "Content-Type": "text/html", "Cache-Control": "no-cache"}
    headers.update(page_header_overrides)
    not_stored = {
        "error": {
            "code": "key_not_stored",
            "message": "The OpenAI API key has not been stored in this stack's secret yet: run the "
            "put-secret-value command from the stack's outputs.",
        }
    }
    return {
        "/": reply(200, b"<!doctype html>", headers),
        "/config.json": reply(200, json.dumps(config).encode(), {"Content-Type": "application/json"}),
        "/api/session": reply(500, json.dumps(not_stored).encode(), {"Content-Type": "application/json"}),
    }


def test_a_header_that_drifted_from_template_yaml_fails_the_page_and_names_it(
    serve: Callable[[dict[str, Responder]], str],
) -> None:
    base = serve(site_routes({"Content-Security-Policy": "default-src *"}))

    status, lines = run_smoke(base)

    page = next(line for line in lines if line.startswith("FAIL  page"))
    assert status == 1
    assert "Content-Security-Policy is 'default-src *', template.yaml says" in page


def test_a_page_that_can_be_cached_without_revalidation_fails(
    serve: Callable[[dict[str, Responder]], str],
) -> None:
    base = serve(site_routes({"Cache-Control": "max-age=31536000, immutable"}))

    status, lines = run_smoke(base)

    assert status == 1
    assert verdicts(lines)["page"] == "FAIL"


def test_a_bucket_that_refuses_direct_access_passes(serve: Callable[[dict[str, Responder]], str]) -> None:
    base = serve(site_routes({}))
    bucket = serve({"/index.html": reply(403, b"<Error><Code>AccessDenied</Code></Error>", {})})

    status, lines = run_smoke(base, "--bucket-url", f"{bucket}index.html")

    assert status == 0, lines
    assert verdicts(lines)["bucket refuses direct access"] == "PASS"


def test_a_publicly_readable_bucket_fails(serve: Callable[[dict[str, Responder]], str]) -> None:
    base = serve(site_routes({}))
    bucket = serve({"/index.html": reply(200, b"<!doctype html>", {"Content-Type": "text/html"})})

    status, lines = run_smoke(base, "--bucket-url", f"{bucket}index.html")

    assert status == 1
    assert verdicts(lines)["bucket refuses direct access"] == "FAIL"


def test_an_https_page_must_redirect_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def fake_fetch(url: str, **_: Any) -> Reply:
        asked.append(url)
        headers = Message()
        headers["Location"] = "https://d111111abcdef8.cloudfront.net/"
        return Reply(301, headers, b"")

    monkeypatch.setattr(checks, "fetch", fake_fetch)

    result = checks.check_https_redirect("https://d111111abcdef8.cloudfront.net/")

    assert asked == ["http://d111111abcdef8.cloudfront.net/"]
    assert result.verdict == "PASS"


def test_stack_mode_reads_the_page_and_bucket_urls_from_the_outputs() -> None:
    class FakeCloudFormation:
        def describe_stacks(self, StackName: str) -> dict[str, Any]:
            assert StackName == "realtime-vend"
            outputs = [
                {"OutputKey": "PageUrl", "OutputValue": "https://d111111abcdef8.cloudfront.net/"},
                {"OutputKey": "BucketUrl", "OutputValue": "https://b.s3.eu-west-1.amazonaws.com/index.html"},
                {
                    "OutputKey": "ExecuteApiUrl",
                    "OutputValue": "https://abc123.execute-api.eu-west-1.amazonaws.com/api/session",
                },
            ]
            return {"Stacks": [{"Outputs": outputs}]}

    urls = checks.stack_urls("realtime-vend", "eu-west-1", client=FakeCloudFormation())

    assert urls == (
        "https://d111111abcdef8.cloudfront.net/",
        "https://b.s3.eu-west-1.amazonaws.com/index.html",
        "https://abc123.execute-api.eu-west-1.amazonaws.com/api/session",
    )


def test_an_execute_api_url_that_mints_without_cloudfront_fails(
    serve: Callable[[dict[str, Responder]], str],
) -> None:
    minted = json.dumps({"value": "ek_0123456789abcdef", "expires_at": 1}).encode()
    api = serve({"/api/session": reply(200, minted, {"Content-Type": "application/json"})})

    result = checks.check_execute_api(f"{api}api/session")

    assert result.verdict == "FAIL"
    assert "minted without CloudFront" in result.detail
    assert "ek_" not in result.detail


def test_an_execute_api_url_that_answers_forbidden_passes(
    serve: Callable[[dict[str, Responder]], str],
) -> None:
    forbidden = json.dumps({"error": {"code": "forbidden", "message": "Forbidden."}}).encode()
    api = serve({"/api/session": reply(403, forbidden, {"Content-Type": "application/json"})})

    assert checks.check_execute_api(api).verdict == "PASS"  # the base URL works as well as the endpoint


def _relay_routes(session: Responder, call: Responder) -> dict[str, Responder]:
    routes = site_routes({})
    config = {
        "sessionUrl": "/api/session",
        "realtimeCallsUrl": "https://api.openai.com/v1/realtime/calls",
        "callMode": "relay",
        "callUrl": "/api/call",
    }
    routes["/config.json"] = reply(200, json.dumps(config).encode(), {"Content-Type": "application/json"})
    routes["/api/session"] = session
    routes["/api/call"] = call
    return routes


def _json_error(status: int, code: str) -> Responder:
    body = json.dumps({"error": {"code": code, "message": "..."}}).encode()
    return reply(status, body, {"Content-Type": "application/json"})


def test_a_relay_stack_is_checked_on_its_call_route_and_its_closed_session_route(
    serve: Callable[[dict[str, Responder]], str],
) -> None:
    base = serve(_relay_routes(_json_error(404, "not_enabled"), _json_error(400, "invalid_offer")))

    checks_run = {check.name: check for check in checks.run(base)}

    assert checks_run["POST /api/session"].verdict == "PASS"
    assert "not_enabled" in checks_run["POST /api/session"].detail
    assert checks_run["POST /api/call"].verdict == "PASS"


def test_a_relay_stack_that_still_mints_client_secrets_fails(
    serve: Callable[[dict[str, Responder]], str],
) -> None:
    minted = reply(200, json.dumps({"value": "ek_0123456789abcdef", "expires_at": 1}).encode(), {})
    base = serve(_relay_routes(minted, _json_error(400, "invalid_offer")))

    checks_run = {check.name: check for check in checks.run(base)}

    # leaving /api/session open beside relay would undo relay's cap
    assert checks_run["POST /api/session"].verdict == "FAIL"
    assert "ek_" not in checks_run["POST /api/session"].detail
