"""local/jwt_authorizer: API Gateway's JWT authorizer, against real tokens from the local OIDC provider."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator

import pytest

from local.jwt_authorizer import JwtAuthorization, JwtAuthorizer, JwtRefusal
from local.oidc_provider import CLIENT_ID, OidcProvider
from tests.localstack.oidc_client import OidcTestClient, Tokens

PAGE = "http://127.0.0.1:8080/"
SCOPE = "realtime-vend/call"
ROUTE_SCOPES = [SCOPE]
# Short, so that one test can watch a real token expire; every other test signs in just before it checks.
TTL = 5
UNAUTHORIZED = '{"message":"Unauthorized"}'


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    # The audience is the client id, as with Cognito: an ID token then passes the audience check too.
    with OidcProvider(redirect_uri=PAGE, audience=CLIENT_ID, scope=SCOPE, access_token_ttl=TTL) as started:
        yield started


@pytest.fixture(scope="module")
def authorizer(provider: OidcProvider) -> JwtAuthorizer:
    return JwtAuthorizer(provider.issuer, [CLIENT_ID])


@pytest.fixture
def sign_in(provider: OidcProvider) -> Iterator[Callable[..., Tokens]]:
    browsers: list[OidcTestClient] = []

    def signed_in(login: str = "alice", scope: str = f"openid {SCOPE}") -> Tokens:
        browsers.append(OidcTestClient(provider.issuer, CLIENT_ID, PAGE))  # its own cookies: its own user
        return browsers[-1].sign_in(login, scope)

    yield signed_in
    for browser in browsers:
        browser.close()


def accepted(outcome: JwtAuthorization | JwtRefusal) -> JwtAuthorization:
    assert isinstance(outcome, JwtAuthorization), outcome
    return outcome


def refused(outcome: JwtAuthorization | JwtRefusal) -> JwtRefusal:
    assert isinstance(outcome, JwtRefusal), outcome
    return outcome


def invalid_token(description: str) -> dict[str, str]:
    return {"www-authenticate": f'Bearer scope="" error="invalid_token" error_description="{description}"'}


def tampered(token: str, segment: int) -> str:
    """The token with one character of one segment (0 header, 1 payload, 2 signature) changed."""
    parts = token.split(".")
    middle = len(parts[segment]) // 2
    replacement = "A" if parts[segment][middle] != "A" else "B"
    parts[segment] = parts[segment][:middle] + replacement + parts[segment][middle + 1 :]
    return ".".join(parts)


def test_a_signed_in_token_is_accepted_with_its_claims_as_strings_and_its_scopes(
    authorizer: JwtAuthorizer, provider: OidcProvider, sign_in: Callable[..., Tokens]
) -> None:
    # Given alice's access token
    token = sign_in("alice").access_token

    # When it comes as a Bearer token to a route that needs the scope
    authorization = accepted(authorizer.authorize(f"Bearer {token}", ROUTE_SCOPES))

    # Then the event gets her claims, every value a string, and the token's scopes
    event_authorizer = authorization.event_authorizer()
    claims = event_authorizer["jwt"]["claims"]
    assert claims["sub"] == "alice"
    assert claims["iss"] == provider.issuer
    assert claims["aud"] == CLIENT_ID
    assert claims["scope"] == SCOPE
    assert all(isinstance(value, str) for value in claims.values())
    assert claims["exp"].isdigit()
    assert event_authorizer["jwt"]["scopes"] == [SCOPE]


def test_two_users_are_two_subjects(authorizer: JwtAuthorizer, sign_in: Callable[..., Tokens]) -> None:
    alice = accepted(authorizer.authorize(f"Bearer {sign_in('alice').access_token}", ROUTE_SCOPES))
    bob = accepted(authorizer.authorize(f"Bearer {sign_in('bob').access_token}", ROUTE_SCOPES))

    assert (alice.claims["sub"], bob.claims["sub"]) == ("alice", "bob")


@pytest.mark.parametrize("prefix", ["", "bearer ", "Bearer  "])
def test_the_token_may_come_alone_or_after_bearer(
    authorizer: JwtAuthorizer, sign_in: Callable[..., Tokens], prefix: str
) -> None:
    # "The identitySource can include only the token, or the token prefixed with Bearer."
    token = sign_in().access_token

    assert accepted(authorizer.authorize(prefix + token, ROUTE_SCOPES)).claims["sub"] == "alice"


def test_a_route_without_scopes_passes_null_scopes(
    authorizer: JwtAuthorizer, sign_in: Callable[..., Tokens]
) -> None:
    token = sign_in().access_token

    assert accepted(authorizer.authorize(f"Bearer {token}")).event_authorizer()["jwt"]["scopes"] is None


def test_a_refreshed_access_token_is_accepted(authorizer: JwtAuthorizer, provider: OidcProvider) -> None:
    with OidcTestClient(provider.issuer, CLIENT_ID, PAGE) as browser:
        refreshed = browser.refresh(browser.sign_in("dave").refresh_token)

    assert (
        accepted(authorizer.authorize(f"Bearer {refreshed.access_token}", ROUTE_SCOPES)).claims["sub"]
        == "dave"
    )


def test_no_token_is_401_with_a_bare_bearer_challenge(authorizer: JwtAuthorizer) -> None:
    for header in (None, "", "Bearer", "Bearer   "):
        refusal = refused(authorizer.authorize(header, ROUTE_SCOPES))
        assert (refusal.status, refusal.body, refusal.headers) == (
            401,
            UNAUTHORIZED,
            {"www-authenticate": "Bearer"},
        )


def test_another_scheme_is_401(authorizer: JwtAuthorizer, sign_in: Callable[..., Tokens]) -> None:
    token = sign_in().access_token

    refusal = refused(authorizer.authorize(f"Basic {token}", ROUTE_SCOPES))

    assert (refusal.status, refusal.body) == (401, UNAUTHORIZED)
    assert refusal.headers == invalid_token("the token is malformed")


@pytest.mark.parametrize("segment", [1, 2], ids=["payload", "signature"])
def test_a_tampered_token_is_401(
    authorizer: JwtAuthorizer, sign_in: Callable[..., Tokens], segment: int
) -> None:
    token = tampered(sign_in().access_token, segment)

    refusal = refused(authorizer.authorize(f"Bearer {token}", ROUTE_SCOPES))

    assert (refusal.status, refusal.body) == (401, UNAUTHORIZED)
    assert refusal.headers["www-authenticate"].startswith('Bearer scope="" error="invalid_token"')


def test_a_token_whose_kid_is_not_in_the_jwks_is_401(
    authorizer: JwtAuthorizer, sign_in: Callable[..., Tokens]
) -> None:
    header, payload, signature = sign_in().access_token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    fields["kid"] = "not-a-key-of-this-issuer"
    header = base64.urlsafe_b64encode(json.dumps(fields).encode()).rstrip(b"=").decode()

    refusal = refused(authorizer.authorize(f"Bearer {header}.{payload}.{signature}", ROUTE_SCOPES))

    assert refusal.headers == invalid_token("no key in the issuer's jwks_uri matches the token's kid")


def test_another_audience_is_401_with_the_documented_description(
    provider: OidcProvider, sign_in: Callable[..., Tokens]
) -> None:
    # Given an authorizer for another audience
    elsewhere = JwtAuthorizer(provider.issuer, ["another-api"])

    refusal = refused(elsewhere.authorize(f"Bearer {sign_in().access_token}", ROUTE_SCOPES))

    # Then it is AWS's documented refusal, to the byte
    assert (refusal.status, refusal.body) == (401, UNAUTHORIZED)
    assert refusal.headers == invalid_token("the token does not have a valid audience")


def test_another_issuer_is_401(provider: OidcProvider, sign_in: Callable[..., Tokens]) -> None:
    # Given an authorizer whose issuer differs from the tokens' iss (a trailing slash: same discovery)
    elsewhere = JwtAuthorizer(provider.issuer + "/", [CLIENT_ID])

    refusal = refused(elsewhere.authorize(f"Bearer {sign_in().access_token}", ROUTE_SCOPES))

    assert (refusal.status, refusal.body) == (401, UNAUTHORIZED)
    assert refusal.headers == invalid_token("the token does not have a valid issuer")


def test_a_token_without_the_scope_is_403(authorizer: JwtAuthorizer, sign_in: Callable[..., Tokens]) -> None:
    # Given a valid token for the audience, requested without the scope
    token = sign_in(scope="openid").access_token

    refusal = refused(authorizer.authorize(f"Bearer {token}", ROUTE_SCOPES))

    assert (refusal.status, refusal.body, refusal.headers) == (403, '{"message":"Forbidden"}', {})


def test_an_id_token_is_403_for_want_of_a_scope(
    authorizer: JwtAuthorizer, sign_in: Callable[..., Tokens]
) -> None:
    # Given an ID token: signed by the issuer, aud = the client id (an accepted audience), no scope
    id_token = sign_in().id_token

    refusal = refused(authorizer.authorize(f"Bearer {id_token}", ROUTE_SCOPES))

    # Then only the route's scope keeps it out, as AWS's docs say it would
    assert (refusal.status, refusal.body) == (403, '{"message":"Forbidden"}')


def test_an_expired_token_is_401(authorizer: JwtAuthorizer, sign_in: Callable[..., Tokens]) -> None:
    # Given an access token accepted now
    tokens = sign_in()
    expires = int(accepted(authorizer.authorize(f"Bearer {tokens.access_token}", ROUTE_SCOPES)).claims["exp"])

    # When its exp has passed
    time.sleep(max(0.0, expires - time.time()) + 0.2)

    # Then it is refused
    refusal = refused(authorizer.authorize(f"Bearer {tokens.access_token}", ROUTE_SCOPES))
    assert (refusal.status, refusal.body) == (401, UNAUTHORIZED)
    assert refusal.headers == invalid_token("the token has expired")
