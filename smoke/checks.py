"""Checks a running stack the way a visitor and an attacker would see it, over plain HTTP(S).

    scripts/smoke https://d111111abcdef8.cloudfront.net/ [--bucket-url URL] [--execute-api-url URL]
                  [--require-key]
    scripts/smoke --stack realtime-vend [--region eu-west-1]     # URLs from the stack's outputs

1. config.json is served and names our session route and a Realtime calls URL;
2. the page answers 200 with exactly the security headers template.yaml declares (CSP with that
   Realtime origin, HSTS, ...), and revalidates (Cache-Control: no-cache);
3. http:// redirects to https:// (deployed stacks only);
4. POST /api/session mints a client secret, or says the OpenAI key is not stored yet (a warning,
   a failure with --require-key); in relay mode (config.json's callMode) it must answer 404
   not_enabled instead, and POST /api/call must refuse a non-offer with 400 invalid_offer (proof the
   route is live and checks what it relays, at no cost: nothing reaches OpenAI). With signed-in
   visitors (config.json's `auth`), the smoke test has no token: the routes must answer API Gateway's
   401 without one, and the issuer's discovery document must be reachable, with every origin the page
   fetches to sign in allowed by its CSP. A GPT-Live stack (config.json's voiceApi live) must be relayed
   only, and POST /api/call must refuse a non-offer in its JSON form too (the form a rollover posts,
   with the conversation so far): 400 invalid_offer, before any session is created (each bills 15 s);
5. the bucket refuses direct access (needs its URL; the local stack has no bucket, so it is skipped);
6. the API's own execute-api URL refuses what does not come through CloudFront: 403 forbidden
   (needs its URL: the ExecuteApiUrl output, or the local stack's `execute_api`).

Secrets never reach the output: a minted client secret is reported by its expiry only.
Exit status: 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

from template_contract.page_headers import origin_of, page_headers

KEY_NOT_STORED = "key_not_stored"  # the API's error code while the secret holds its placeholder
Verdict = Literal["PASS", "WARN", "SKIP", "FAIL"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    verdict: Verdict
    detail: str


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None  # let the 3xx through as a reply: checking the redirect is the point


def fetch(
    url: str, *, method: str = "GET", body: bytes | None = None, headers: Mapping[str, str] | None = None
) -> Reply:
    """One HTTP request, no redirects followed; 4xx/5xx are replies too, not exceptions."""
    if urlsplit(url).scheme not in {"http", "https"}:
        raise ValueError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))  # noqa: S310
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=15) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.headers, exc.read())


def check_config(base: str) -> tuple[Check, str | None, dict[str, Any]]:
    """config.json, fetched once: the check, the Realtime origin it names (which the page's CSP must
    allow), and the document itself for the checks that depend on it ({} when it is not an object)."""
    reply = fetch(urljoin(base, "config.json"))
    try:
        parsed = reply.json()
    except ValueError:
        parsed = None
    config: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    if reply.status != 200:
        return Check("config.json", "FAIL", f"HTTP {reply.status}"), None, config
    if parsed is None:
        return Check("config.json", "FAIL", "not JSON"), None, config
    calls = config.get("realtimeCallsUrl")
    if not config or config.get("sessionUrl") != "/api/session" or not isinstance(calls, str):
        return Check("config.json", "FAIL", f"unexpected content: {parsed!r}"), None, config
    parts = urlsplit(calls)
    if parts.scheme not in {"http", "https"} or parts.path != "/v1/realtime/calls":
        check = Check("config.json", "FAIL", f"realtimeCallsUrl is not a Realtime calls URL: {calls}")
        return check, None, config
    origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return Check("config.json", "PASS", f"sessionUrl /api/session, realtimeCallsUrl {calls}"), origin, config


def auth_config(config: Mapping[str, Any]) -> dict[str, str] | None:
    """config.json's `auth` (who signs visitors in), or None for anonymous visitors."""
    auth = config.get("auth")
    return auth if isinstance(auth, dict) and isinstance(auth.get("issuer"), str) else None


def sign_in_origins(auth: Mapping[str, str]) -> tuple[Check, list[str]]:
    """The issuer's discovery document, and the origins the page fetches to sign in (the issuer's
    and, where it differs, the token endpoint's: a Cognito pool's hosted domain)."""
    issuer = auth["issuer"]
    reply = fetch(issuer.rstrip("/") + "/.well-known/openid-configuration")
    try:
        metadata = reply.json() if reply.status == 200 else None
    except ValueError:
        metadata = None
    if not isinstance(metadata, dict) or metadata.get("issuer") != issuer:
        return Check(
            "sign-in", "FAIL", f"{issuer} has no discovery document naming it (HTTP {reply.status})"
        ), []
    token_endpoint = metadata.get("token_endpoint")
    if not isinstance(token_endpoint, str):
        return Check("sign-in", "FAIL", f"{issuer}'s discovery document has no token_endpoint"), []
    origins = list(dict.fromkeys([origin_of(issuer), origin_of(token_endpoint)]))
    if "S256" not in (metadata.get("code_challenge_methods_supported") or ["S256"]):
        return Check("sign-in", "FAIL", f"{issuer} does not offer PKCE with S256"), origins
    return Check(
        "sign-in", "PASS", f"{issuer} publishes its metadata; the page fetches {', '.join(origins)}"
    ), origins


def check_signed_in_only(base: str, path: str, body: bytes, content_type: str) -> Check:
    """Without a token, API Gateway's JWT authorizer answers 401 before the function runs."""
    origin = urlunsplit((*urlsplit(base)[:2], "", "", ""))
    reply = fetch(
        urljoin(base, path),
        method="POST",
        body=body,
        headers={"Content-Type": content_type, "Origin": origin},
    )
    name = f"POST /{path}"
    if reply.status == 401:
        return Check(name, "PASS", "401 without a token: only signed-in visitors get through")
    return Check(name, "FAIL", f"HTTP {reply.status} {_error_code(reply)} without a token, not 401")


def call_mode(config: Mapping[str, Any]) -> str:
    """config.json's callMode (client_secret when absent: a stack from before relayed calls)."""
    mode = config.get("callMode", "client_secret")
    return mode if mode in {"client_secret", "relay", "both"} else "client_secret"


# An SDP *answer* (a=setup:active): the API must refuse it before anything reaches OpenAI.
NOT_AN_OFFER = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "a=setup:active\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=setup:active\r\n"
)


def check_session_off(base: str) -> Check:
    reply = fetch(
        urljoin(base, "api/session"), method="POST", body=b"{}", headers={"Content-Type": "application/json"}
    )
    code = _error_code(reply)
    if reply.status == 404 and code == "not_enabled":
        return Check("POST /api/session", "PASS", "404 not_enabled: client secrets are off in relay mode")
    return Check(
        "POST /api/session", "FAIL", f"relay mode, yet HTTP {reply.status} {code}: the endpoint must be off"
    )


def check_call(base: str) -> Check:
    origin = urlunsplit((*urlsplit(base)[:2], "", "", ""))
    reply = fetch(
        urljoin(base, "api/call"),
        method="POST",
        body=NOT_AN_OFFER.encode(),
        headers={"Content-Type": "application/sdp", "Origin": origin},
    )
    code = _error_code(reply)
    if reply.status == 400 and code == "invalid_offer":
        return Check(
            "POST /api/call", "PASS", "live: it refuses what is not a WebRTC offer (400 invalid_offer)"
        )
    return Check(
        "POST /api/call", "FAIL", f"HTTP {reply.status} {code}, not 400 invalid_offer for a non-offer"
    )


def check_voice_api(config: Mapping[str, Any]) -> Check:
    """config.json of a stack that does not speak Realtime: GPT-Live, relayed only, typed text on or off."""
    voice_api, typed_text = config.get("voiceApi"), config.get("typedText")
    if voice_api != "live":
        return Check("GPT-Live", "FAIL", f"voiceApi is {voice_api!r}, neither realtime nor live")
    if config.get("callMode") != "relay":
        return Check("GPT-Live", "FAIL", f"callMode is {config.get('callMode')!r}: GPT-Live is relayed only")
    if not isinstance(typed_text, bool):
        return Check("GPT-Live", "FAIL", f"typedText is {typed_text!r}, not true or false")
    return Check("GPT-Live", "PASS", f"relayed calls to GPT-Live, typed text {'on' if typed_text else 'off'}")


def check_live_call(base: str) -> Check:
    """The JSON form of POST /api/call (GPT-Live's rollover: the offer and the conversation so far)."""
    origin = urlunsplit((*urlsplit(base)[:2], "", "", ""))
    body = {"sdp": NOT_AN_OFFER, "conversation": [{"role": "user", "text": "Hello"}]}
    reply = fetch(
        urljoin(base, "api/call"),
        method="POST",
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Origin": origin},
    )
    code = _error_code(reply)
    name = "POST /api/call (JSON)"
    if reply.status == 400 and code == "invalid_offer":
        return Check(name, "PASS", "a non-offer with a conversation: 400 invalid_offer, no session created")
    return Check(name, "FAIL", f"HTTP {reply.status} {code}, not 400 invalid_offer for a non-offer")


def _error_code(reply: Reply) -> str | None:
    try:
        document = reply.json()
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def check_page(base: str, realtime_origin: str, auth_origins: Sequence[str] = ()) -> Check:
    reply = fetch(base)
    if reply.status != 200:
        return Check("page", "FAIL", f"HTTP {reply.status}")
    problems = []
    content_type = reply.headers.get("Content-Type", "")
    if not content_type.startswith("text/html"):
        problems.append(f"Content-Type is {content_type!r}")
    for name, expected in page_headers(realtime_origin, auth_origins=auth_origins).items():
        actual = reply.headers.get(name)
        if actual != expected:
            problems.append(f"{name} is {actual!r}, template.yaml says {expected!r}")
    if "no-cache" not in reply.headers.get("Cache-Control", ""):
        problems.append(f"Cache-Control is {reply.headers.get('Cache-Control')!r}, not no-cache")
    if problems:
        return Check("page", "FAIL", "; ".join(problems))
    return Check("page", "PASS", "200 text/html with template.yaml's security headers, revalidated")


def check_https_redirect(base: str) -> Check:
    parts = urlsplit(base)
    if parts.scheme != "https":
        return Check("https redirect", "SKIP", "not applicable: the stack is served over plain http")
    reply = fetch(urlunsplit(("http", *parts[1:])))
    location = reply.headers.get("Location", "")
    if reply.status in {301, 302, 307, 308} and location.startswith("https://"):
        return Check("https redirect", "PASS", f"http:// answers {reply.status} to {location}")
    return Check("https redirect", "FAIL", f"http:// answered {reply.status} (Location {location!r})")


def check_session(base: str, *, require_key: bool) -> Check:
    origin = urlunsplit((*urlsplit(base)[:2], "", "", ""))
    reply = fetch(
        urljoin(base, "api/session"),
        method="POST",
        body=b"{}",
        headers={"Content-Type": "application/json", "Origin": origin},
    )
    try:
        document = reply.json()
    except ValueError:
        return Check("POST /api/session", "FAIL", f"HTTP {reply.status}, body is not JSON")
    if reply.status == 200 and isinstance(document, dict):
        value, expires_at = document.get("value"), document.get("expires_at")
        if isinstance(value, str) and value.startswith("ek_") and isinstance(expires_at, int):
            # The value itself is a credential: report that it exists, never what it is.
            return Check(
                "POST /api/session", "PASS", f"minted a client secret valid {expires_at - int(time.time())} s"
            )
        return Check("POST /api/session", "FAIL", "200 without a client secret")
    error = document.get("error", {}) if isinstance(document, dict) else {}
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    code = error.get("code") if isinstance(error, dict) else None
    if reply.status == 500 and code == KEY_NOT_STORED:
        hint = "the OpenAI key is not stored yet: run the PutKeyCommand from the stack's outputs"
        return Check("POST /api/session", "FAIL" if require_key else "WARN", hint)
    return Check("POST /api/session", "FAIL", f"HTTP {reply.status} {code}: {message}")


def check_bucket(bucket_url: str | None) -> Check:
    if not bucket_url:
        return Check(
            "bucket refuses direct access",
            "SKIP",
            "not applicable: no bucket URL (the local stack has no bucket; pass --bucket-url or --stack)",
        )
    reply = fetch(bucket_url)
    if reply.status == 403:
        return Check("bucket refuses direct access", "PASS", f"{bucket_url} answers 403")
    return Check("bucket refuses direct access", "FAIL", f"{bucket_url} answered {reply.status}, not 403")


def check_execute_api(execute_api_url: str | None, *, signed_in: bool = False) -> Check:
    """With signed-in visitors the minting routes answer the authorizer's 401 to a caller without a
    token, before the function could show its own check: a route the authorizer leaves open (the
    function's 404s, `ANY /api/{proxy+}`) reaches it instead."""
    name = "execute-api URL refuses direct calls"
    if not execute_api_url:
        return Check(name, "SKIP", "no execute-api URL (pass --execute-api-url or --stack)")
    url = execute_api_url
    probe = "api/origin-check" if signed_in else "api/session"
    if not urlsplit(url).path.rstrip("/").endswith(f"/{probe}"):
        root = url.removesuffix("/").removesuffix("/api/session")
        url = urljoin(f"{root}/", probe)
    reply = fetch(url, method="POST", body=b"{}", headers={"Content-Type": "application/json"})
    try:
        code = reply.json().get("error", {}).get("code")
    except (ValueError, AttributeError):
        code = None
    if reply.status == 403 and code == "forbidden":
        return Check(name, "PASS", f"{url} answers 403 forbidden")
    if reply.status == 200:
        return Check(name, "FAIL", f"{url} minted without CloudFront: the origin header is not checked")
    return Check(name, "FAIL", f"{url} answered {reply.status} {code}, not 403 forbidden")


def run(
    base: str,
    *,
    bucket_url: str | None = None,
    execute_api_url: str | None = None,
    require_key: bool = False,
) -> list[Check]:
    base = base if base.endswith("/") else f"{base}/"
    config_check, realtime_origin, config = check_config(base)
    checks = [config_check]
    # Realtime (or a config.json from before GPT-Live, without voiceApi) is checked as it always was
    live = config.get("voiceApi", "realtime") != "realtime"
    if live:
        checks.append(check_voice_api(config))
    auth = auth_config(config)
    auth_origins: list[str] = []
    if auth is not None:
        signing_in, auth_origins = sign_in_origins(auth)
        checks.append(signing_in)
    if realtime_origin is None:
        checks.append(Check("page", "FAIL", "cannot check the CSP without config.json's Realtime origin"))
    else:
        checks.append(check_page(base, realtime_origin, auth_origins))
    checks.append(check_https_redirect(base))
    mode = call_mode(config)
    if auth is not None:
        if mode != "relay":
            checks.append(check_signed_in_only(base, "api/session", b"{}", "application/json"))
        if mode in {"relay", "both"}:
            checks.append(check_signed_in_only(base, "api/call", NOT_AN_OFFER.encode(), "application/sdp"))
    elif mode == "relay":
        checks.append(check_session_off(base))
    else:
        checks.append(check_session(base, require_key=require_key))
    if auth is None and mode in {"relay", "both"}:
        checks.append(check_call(base))
        if live:
            checks.append(check_live_call(base))
    checks.append(check_bucket(bucket_url))
    checks.append(check_execute_api(execute_api_url, signed_in=auth is not None))
    return checks


def stack_urls(stack: str, region: str | None, client: Any = None) -> tuple[str, str | None, str | None]:
    """The page, bucket and execute-api URLs from a deployed stack's outputs."""
    if client is None:
        import boto3  # noqa: PLC0415 - only this mode needs AWS credentials

        client = boto3.client("cloudformation", region_name=region)
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in client.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    }
    if "PageUrl" not in outputs:
        raise SystemExit(f"stack {stack} has no PageUrl output: is it deployed from this template?")
    return outputs["PageUrl"], outputs.get("BucketUrl"), outputs.get("ExecuteApiUrl")


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(prog="scripts/smoke", description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("url", nargs="?", help="the page URL, e.g. the stack's PageUrl output")
    target.add_argument("--stack", help="read PageUrl and BucketUrl from this stack's outputs")
    parser.add_argument("--region", help="the stack's region (with --stack)")
    parser.add_argument("--bucket-url", help="the bucket's own URL, e.g. the BucketUrl output")
    parser.add_argument("--execute-api-url", help="the API's own URL, e.g. the ExecuteApiUrl output")
    parser.add_argument("--require-key", action="store_true", help="a placeholder key is a failure")
    args = parser.parse_args(argv)

    url, bucket_url, execute_api_url = args.url, args.bucket_url, args.execute_api_url
    if args.stack:
        url, bucket_from_stack, execute_api_from_stack = stack_urls(args.stack, args.region)
        bucket_url = bucket_url or bucket_from_stack
        execute_api_url = execute_api_url or execute_api_from_stack
    checks = run(url, bucket_url=bucket_url, execute_api_url=execute_api_url, require_key=args.require_key)
    for check in checks:
        out(f"{check.verdict:4}  {check.name}: {check.detail}")
    counts = {
        verdict: sum(c.verdict == verdict for c in checks) for verdict in ("PASS", "WARN", "SKIP", "FAIL")
    }
    summary = ", ".join(f"{n} {verdict.lower()}" for verdict, n in counts.items() if n)
    failed = counts["FAIL"]
    out(f"{'FAILED' if failed else 'OK'} ({summary}): {url}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
