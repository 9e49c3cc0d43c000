"""`scripts/smoke` against the local stack (same page headers as CloudFront, the real handler) and against
small servers that get one thing wrong, so each check is shown to catch what it is for."""

from __future__ import annotations

import json
import os
import threading
import urllib.request
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


@pytest.fixture(scope="module")
def live_stack() -> Iterator[StackProcess]:
    with StackProcess("--port", "0", voice_api="live") as stack:
        yield stack


@pytest.mark.slow
def test_a_live_stack_passes_its_checks_and_spends_nothing(live_stack: StackProcess) -> None:
    status, lines = run_smoke(live_stack.url, "--execute-api-url", live_stack.execute_api)

    assert status == 0, lines
    assert verdicts(lines) == {
        "config.json": "PASS",
        "GPT-Live": "PASS",
        "page": "PASS",
        "https redirect": "SKIP",
        "POST /api/session": "PASS",
        "POST /api/call": "PASS",
        "POST /api/call (JSON)": "PASS",
        "bucket refuses direct access": "SKIP",
        "execute-api URL refuses direct calls": "PASS",
    }
    report = "\n".join(lines)
    assert "404 not_enabled" in report
    assert "typed text on" in report
    # nothing reached the stand-in: no GPT-Live session was created (each bills 15 s)
    assert _live_sessions_created(live_stack) == 0


def _live_sessions_created(stack: StackProcess) -> int:
    """Sessions the stand-in created, Realtime calls and GPT-Live sessions alike (its state snapshot)."""
    with urllib.request.urlopen(f"{stack.standin_url}/__standin/state", timeout=10) as response:  # noqa: S310
        state = json.loads(response.read())
    return len(state["calls"]) + len(state.get("live_sessions", []))


def _live_routes(config_changes: dict[str, Any], call: Responder) -> dict[str, Responder]:
    routes = _relay_routes(_json_error(404, "not_enabled"), call)
    config = {
        "sessionUrl": "/api/session",
        "realtimeCallsUrl": "https://api.openai.com/v1/realtime/calls",
        "callMode": "relay",
        "callUrl": "/api/call",
        "voiceApi": "live",
        "typedText": False,
        **config_changes,
    }
    routes["/config.json"] = reply(200, json.dumps(config).encode(), {"Content-Type": "application/json"})
    return routes


def _by_content_type(sdp: Responder, json_body: Responder) -> Responder:
    """/api/call answering an SDP body with `sdp` and a JSON body with `json_body`."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        kind = handler.headers.get("Content-Type", "")
        (json_body if kind.startswith("application/json") else sdp)(handler)

    return respond


def test_a_live_stack_that_refuses_both_forms_of_a_non_offer_passes(
    serve: Callable[[dict[str, Responder]], str],
) -> None:
    refuse = _json_error(400, "invalid_offer")
    base = serve(_live_routes({}, _by_content_type(refuse, refuse)))

    checks_run = {check.name: check for check in checks.run(base)}

    assert checks_run["GPT-Live"].verdict == "PASS"
    assert "typed text off" in checks_run["GPT-Live"].detail
    assert checks_run["POST /api/call"].verdict == "PASS"
    assert checks_run["POST /api/call (JSON)"].verdict == "PASS"


def test_a_live_stack_that_lets_a_json_non_offer_through_fails(
    serve: Callable[[dict[str, Responder]], str],
) -> None:
    # a JSON body that reaches OpenAI (here: any answer but 400 invalid_offer) would bill 15 s each
    created = reply(201, json.dumps({"sdp": "v=0"}).encode(), {"Content-Type": "application/json"})
    base = serve(_live_routes({}, _by_content_type(_json_error(400, "invalid_offer"), created)))

    checks_run = {check.name: check for check in checks.run(base)}

    assert checks_run["POST /api/call"].verdict == "PASS"
    assert checks_run["POST /api/call (JSON)"].verdict == "FAIL"
    assert "HTTP 201" in checks_run["POST /api/call (JSON)"].detail


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"callMode": "both"}, "GPT-Live is relayed only"),
        ({"voiceApi": "gpt-live"}, "neither realtime nor live"),
        ({"typedText": "true"}, "not true or false"),
    ],
)
def test_a_live_config_the_page_cannot_use_fails(
    serve: Callable[[dict[str, Responder]], str], changes: dict[str, Any], problem: str
) -> None:
    refuse = _json_error(400, "invalid_offer")
    base = serve(_live_routes(changes, _by_content_type(refuse, refuse)))

    check = {check.name: check for check in checks.run(base)}["GPT-Live"]

    assert check.verdict == "FAIL"
    assert problem in check.detail


def test_a_realtime_stack_is_checked_as_before(serve: Callable[[dict[str, Responder]], str]) -> None:
    base = serve(_relay_routes(_json_error(404, "not_enabled"), _json_error(400, "invalid_offer")))

    names = [check.name for check in checks.run(base)]

    assert "GPT-Live" not in names
    assert "POST /api/call (JSON)" not in names
