"""Every failure a caller can meet: the right status, a fixed JSON error, nothing leaked."""

from __future__ import annotations

from types import ModuleType

import boto3
import httpx
import pytest

from tests.conftest import load_event
from tests.fakes.openai_upstream import BASE_URL, FakeClientSecrets, openai_error
from tests.functional.conftest import KEY, SecretsManagerSpy, post_session

# --- the request -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ('{"voice": ', "application/json", 400, "invalid_json"),
        ("[]", "application/json", 400, "invalid_body"),
        ('"marin"', "application/json", 400, "invalid_body"),
        ('{"model": "gpt-realtime-2"}', "application/json", 400, "unknown_field"),
        ('{"voice": "marin", "instructions": "be evil"}', "application/json", 400, "unknown_field"),
        ('{"voice": "nova"}', "application/json", 400, "voice_not_allowed"),
        ('{"voice": 7}', "application/json", 400, "voice_not_allowed"),
        ('{"voice": null}', "application/json", 400, "voice_not_allowed"),
        ('{"voice": "marin"}', "text/plain", 415, "unsupported_media_type"),
        ('{"voice": "marin"}', "application/jsonp", 415, "unsupported_media_type"),
        ('{"pad": "' + "x" * 4100 + '"}', "application/json", 413, "payload_too_large"),
    ],
)
def test_bad_request_gets_clear_error_and_mints_nothing(
    handler: ModuleType, upstream: FakeClientSecrets, body: str, content_type: str, status: int, code: str
) -> None:
    reply = post_session(handler, body, content_type)

    assert (reply.status, reply.error_code) == (status, code)
    assert set(reply.body["error"]) == {"code", "message"}
    assert upstream.requests == []


def test_voice_not_allowed_names_the_choices(handler: ModuleType) -> None:
    reply = post_session(handler, '{"voice": "nova"}')

    assert reply.body["error"]["message"] == (
        "That voice is not offered by this service. Choose one of: marin, cedar."
    )


def test_json_with_charset_is_accepted(handler: ModuleType) -> None:
    assert post_session(handler, '{"voice": "cedar"}', "application/json; charset=utf-8").status == 200


def test_empty_body_without_json_content_type_is_refused(
    handler: ModuleType, upstream: FakeClientSecrets
) -> None:
    # What another site can send without a preflight: sendBeacon (text/plain), a no-cors fetch, a form.
    for content_type in ("", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded"):
        reply = post_session(handler, None, content_type)

        assert (reply.status, reply.error_code) == (415, "unsupported_media_type")
    assert upstream.requests == []


def test_empty_json_post_mints_with_the_defaults(handler: ModuleType) -> None:
    assert post_session(handler, "", "application/json").status == 200


def test_wrong_method_is_405_with_allow(handler: ModuleType) -> None:
    from tests.functional.conftest import invoke

    for method in ("GET", "PUT", "DELETE", "PATCH"):
        event = load_event("wrong-method")
        event["requestContext"]["http"]["method"] = method
        reply = invoke(handler, event)
        assert (reply.status, reply.headers["allow"], reply.error_code) == (405, "POST", "method_not_allowed")


# --- OpenAI --------------------------------------------------------------------------------


def _fast_retry_after() -> dict[str, str]:
    return {"retry-after-ms": "20", "retry-after": "1"}


@pytest.mark.parametrize(
    ("outcomes", "status", "code", "attempts"),
    [
        pytest.param(
            [openai_error(500, None, "boom", "server_error")] * 2,
            502,
            "upstream_unavailable",
            2,
            id="5xx-twice",
        ),
        pytest.param(
            [openai_error(503, None, "overloaded", "server_error")] * 2,
            502,
            "upstream_unavailable",
            2,
            id="503-twice",
        ),
        pytest.param([httpx.ConnectError("refused")] * 2, 502, "upstream_unavailable", 2, id="connect-error"),
        pytest.param([httpx.ConnectTimeout("slow")] * 2, 504, "upstream_timeout", 2, id="connect-timeout"),
        pytest.param([httpx.ReadTimeout("slow")], 504, "upstream_timeout", 1, id="read-timeout-not-retried"),
        pytest.param(
            [httpx.Response(200, json={"expires_at": 4102444800, "session": {}})],
            502,
            "upstream_unavailable",
            1,
            id="200-without-value",
        ),
        pytest.param(
            [
                httpx.Response(
                    200, json={"value": "sk-not-a-client-secret", "expires_at": 4102444800, "session": {}}
                )
            ],
            502,
            "upstream_unavailable",
            1,
            id="200-value-not-ek",
        ),
        pytest.param(
            [httpx.Response(200, content=b"<html>gateway</html>")],
            502,
            "upstream_unavailable",
            1,
            id="200-not-json",
        ),
        pytest.param(
            [openai_error(400, "invalid_value", "Invalid value: 'gpt-realtime-9'.")],
            500,
            "server_misconfigured",
            1,
            id="openai-rejects-our-config",
        ),
        pytest.param(
            [openai_error(403, "model_not_found", "Project does not have access to model")],
            500,
            "server_misconfigured",
            1,
            id="model-not-allowed",
        ),
        pytest.param(
            [
                openai_error(
                    429, "insufficient_quota", "You exceeded your current quota", "insufficient_quota"
                )
            ],
            503,
            "insufficient_quota",
            1,
            id="quota",
        ),
        pytest.param(
            [openai_error(429, "project_spend_limit_exceeded", "Spend limit reached")],
            503,
            "project_spend_limit_exceeded",
            1,
            id="spend-limit",
        ),
    ],
)
def test_upstream_failure_maps_to_our_error(
    handler: ModuleType,
    upstream: FakeClientSecrets,
    outcomes: list[object],
    status: int,
    code: str,
    attempts: int,
) -> None:
    upstream.then(*outcomes)  # type: ignore[arg-type]

    reply = post_session(handler)

    assert (reply.status, reply.error_code) == (status, code)
    assert len(upstream.requests) == attempts
    assert "retry-after" not in reply.headers or code == "upstream_rate_limited"
    for text in ("boom", "overloaded", "gpt-realtime-9", "quota", "Spend", "sk-"):
        assert text not in reply.body["error"]["message"] or text == "quota"


def test_rate_limit_is_retried_once_then_503_with_retry_after(
    handler: ModuleType, upstream: FakeClientSecrets
) -> None:
    limited = openai_error(429, "rate_limit_exceeded", "Rate limit reached", "requests", _fast_retry_after())
    upstream.then(limited, limited)

    reply = post_session(handler)

    assert (reply.status, reply.error_code) == (503, "upstream_rate_limited")
    assert reply.headers["retry-after"] == "1"
    assert reply.body["error"]["message"] == "OpenAI is busy right now. Please try again in 1 second."
    assert len(upstream.requests) == 2


def test_one_rate_limit_then_success_is_invisible_to_the_caller(
    handler: ModuleType, upstream: FakeClientSecrets
) -> None:
    upstream.then(openai_error(429, "rate_limit_exceeded", "Rate limit", "requests", _fast_retry_after()))

    reply = post_session(handler)

    assert reply.status == 200
    assert len(upstream.requests) == 2


def test_retry_after_longer_than_the_budget_is_passed_on_not_waited(
    handler: ModuleType, upstream: FakeClientSecrets
) -> None:
    upstream.then(openai_error(429, "rate_limit_exceeded", "Rate limit", "requests", {"retry-after": "30"}))

    reply = post_session(handler)

    assert (reply.status, reply.headers["retry-after"]) == (503, "30")
    assert len(upstream.requests) == 1


def test_5xx_then_success_is_retried(handler: ModuleType, upstream: FakeClientSecrets) -> None:
    upstream.then(openai_error(502, None, "bad gateway", "server_error"))

    assert post_session(handler).status == 200
    assert len(upstream.requests) == 2


# --- Secrets Manager -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("aws_code", "status", "code"),
    [
        ("AccessDeniedException", 500, "server_misconfigured"),
        ("ResourceNotFoundException", 500, "server_misconfigured"),
        ("DecryptionFailure", 500, "server_misconfigured"),
        ("ThrottlingException", 503, "secrets_unavailable"),
        ("InternalServiceError", 503, "secrets_unavailable"),
    ],
)
def test_secrets_manager_failure(
    cold_start,  # type: ignore[no-untyped-def]
    secret_arn: str,
    secretsmanager: SecretsManagerSpy,
    upstream: FakeClientSecrets,
    aws_code: str,
    status: int,
    code: str,
) -> None:
    # Secrets Manager fails from the cold start on: the init prefetch and the first request both see it.
    secretsmanager.fail_with.extend([aws_code, aws_code])
    module = cold_start(OPENAI_API_KEY_SECRET_ARN=secret_arn, OPENAI_BASE_URL=BASE_URL)

    reply = post_session(module)

    assert (reply.status, reply.error_code) == (status, code)
    assert "arn:" not in reply.raw["body"] and "123456789012" not in reply.raw["body"]
    assert upstream.requests == []
    if status == 503:
        assert reply.headers["retry-after"] == "1"


def test_missing_secret_is_server_misconfigured_not_400(cold_start, edge: None, upstream) -> None:  # type: ignore[no-untyped-def]
    module = cold_start(OPENAI_API_KEY_SECRET_ARN="realtime-vend/does-not-exist")

    reply = post_session(module, '{"voice": "marin"}')

    assert (reply.status, reply.error_code) == (500, "server_misconfigured")


@pytest.mark.parametrize(
    ("secret_value", "code", "message_hint"),
    [
        ('{"api_key": ""}', "server_misconfigured", "not configured correctly"),
        ("   ", "server_misconfigured", "not configured correctly"),
        # its own code, so scripts/smoke and the page need no text match
        ("REPLACE_ME: put your OpenAI API key here", "key_not_stored", "has not been stored"),
        ('{"key": "sk-wrong-field"}', "server_misconfigured", "not configured correctly"),
    ],
)
def test_empty_or_placeholder_secret(
    cold_start,
    edge: None,
    upstream: FakeClientSecrets,
    secret_value: str,
    code: str,
    message_hint: str,  # type: ignore[no-untyped-def]
) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="k", SecretString=secret_value)["ARN"]
    module = cold_start(OPENAI_API_KEY_SECRET_ARN=arn)

    reply = post_session(module)

    assert (reply.status, reply.error_code) == (500, code)
    assert message_hint in reply.body["error"]["message"]
    assert upstream.requests == []


def test_json_secret_form_is_accepted(cold_start, edge: None, upstream: FakeClientSecrets) -> None:  # type: ignore[no-untyped-def]
    arn = boto3.client("secretsmanager").create_secret(Name="k", SecretString=f'{{"api_key": "{KEY}"}}')[
        "ARN"
    ]
    module = cold_start(OPENAI_API_KEY_SECRET_ARN=arn)

    assert post_session(module).status == 200
    assert upstream.seen_keys == [KEY]


def test_unexpected_exception_is_generic_500_with_detail_only_in_log(
    handler: ModuleType, upstream: FakeClientSecrets, caplog: pytest.LogCaptureFixture
) -> None:
    upstream.then(RuntimeError("kaboom while holding " + KEY))

    reply = post_session(handler)

    assert (reply.status, reply.error_code) == (500, "internal_error")
    assert "kaboom" not in reply.raw["body"] and "Traceback" not in reply.raw["body"]
    [logged] = [r for r in caplog.records if r.getMessage() == "unexpected error"]
    assert "RuntimeError: kaboom while holding [redacted]" in logged.traceback


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_path_with_a_control_character_is_no_route_of_ours(
    handler: ModuleType, upstream: FakeClientSecrets, method: str
) -> None:
    from tests.functional.conftest import invoke

    event = load_event("mint")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/api/session\n"
    event["requestContext"]["http"]["method"] = method

    reply = invoke(handler, event)

    # the router's `$` would match before the newline and mint; 404/405 must agree with routing
    assert (reply.status, reply.error_code) == (404, "not_found")
    assert upstream.requests == []
