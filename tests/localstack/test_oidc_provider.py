"""local/oidc: the local stack's OpenID Connect provider, driven over HTTP through its own login page."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
import pytest

from local import oidc_provider
from local.oidc_provider import CLIENT_ID, OidcProvider, OidcProviderError
from tests.localstack.oidc_client import OidcTestClient

PAGE = "http://127.0.0.1:8080/"
PAGE_ORIGIN = "http://127.0.0.1:8080"
AUDIENCE = "realtime-vend-api"
SCOPE = "realtime-vend/call"
TTL = 120


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider(redirect_uri=PAGE, audience=AUDIENCE, scope=SCOPE, access_token_ttl=TTL) as started:
        yield started


@pytest.fixture
def client(provider: OidcProvider) -> Iterator[OidcTestClient]:
    with OidcTestClient(provider.issuer, CLIENT_ID, PAGE) as browser:
        yield browser


def verified_claims(provider: OidcProvider, token: str, audience: str = AUDIENCE) -> dict[str, object]:
    key = jwt.PyJWKClient(f"{provider.issuer}/jwks").get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, issuer=provider.issuer)


def test_discovery_names_its_own_address_as_issuer_and_the_endpoints_a_page_uses(
    provider: OidcProvider,
) -> None:
    # When the page reads discovery from another origin
    response = httpx.get(
        f"{provider.issuer}/.well-known/openid-configuration", headers={"Origin": PAGE_ORIGIN}
    )

    # Then it may (CORS), and the issuer is the provider's own loopback URL
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == PAGE_ORIGIN
    metadata = response.json()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", provider.issuer)
    assert metadata["issuer"] == provider.issuer
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri", "end_session_endpoint"):
        assert metadata[endpoint].startswith(provider.issuer + "/")


def test_a_sign_in_gives_an_rs256_jwt_access_token_for_the_audience_with_the_scope(
    provider: OidcProvider, client: OidcTestClient
) -> None:
    # When alice signs in on the login page and the code is exchanged with PKCE
    tokens = client.sign_in("alice")

    # Then the access token is a JWT signed by a key of the JWKS, for the audience, with the scope
    assert jwt.get_unverified_header(tokens.access_token)["alg"] == "RS256"
    claims = verified_claims(provider, tokens.access_token)
    assert claims["sub"] == "alice"
    assert claims["aud"] == AUDIENCE
    assert claims["client_id"] == CLIENT_ID
    assert claims["scope"] == SCOPE
    assert claims["exp"] == claims["iat"] + TTL  # type: ignore[operator]
    assert tokens.expires_in == TTL
    assert tokens.refresh_token  # without asking for offline_access


def test_two_login_names_are_two_subjects(provider: OidcProvider) -> None:
    # Given two browsers, each with its own cookies
    with (
        OidcTestClient(provider.issuer, CLIENT_ID, PAGE) as first,
        OidcTestClient(provider.issuer, CLIENT_ID, PAGE) as second,
    ):
        # When one signs in as alice and the other as bob
        alice = verified_claims(provider, first.sign_in("alice").access_token)
        bob = verified_claims(provider, second.sign_in("bob").access_token)

    # Then the subjects are the login names
    assert (alice["sub"], bob["sub"]) == ("alice", "bob")


def test_without_the_scope_the_access_token_has_none(provider: OidcProvider, client: OidcTestClient) -> None:
    # When the page asks only for openid
    tokens = client.sign_in("carol", scope="openid")

    # Then the access token is still for the audience, but carries no scope
    claims = verified_claims(provider, tokens.access_token)
    assert claims["aud"] == AUDIENCE
    assert "scope" not in claims


def test_the_refresh_token_grant_gives_a_new_access_token(
    provider: OidcProvider, client: OidcTestClient
) -> None:
    # Given a signed-in page
    first = client.sign_in("dave")

    # When it uses its refresh token at the token endpoint
    refreshed = client.refresh(first.refresh_token)

    # Then it gets a new access token for the same subject and scope, and a new refresh token
    old, new = (
        verified_claims(provider, first.access_token),
        verified_claims(provider, refreshed.access_token),
    )
    assert new["jti"] != old["jti"]
    assert (new["sub"], new["scope"], new["aud"]) == ("dave", SCOPE, AUDIENCE)
    assert refreshed.refresh_token and refreshed.refresh_token != first.refresh_token  # rotated


def test_an_authorization_request_without_pkce_is_refused(client: OidcTestClient) -> None:
    # When the page forgets the code challenge
    response = client.http.get(
        client.metadata["authorization_endpoint"],
        params={"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": PAGE, "scope": "openid"},
    )

    # Then the provider sends it back with an error, no login page
    assert response.is_redirect
    assert response.headers["location"].startswith(PAGE)
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["invalid_request"]
    assert "PKCE" in query["error_description"][0]


def test_the_token_endpoint_answers_cors_only_for_the_page_origin(client: OidcTestClient) -> None:
    # (Preflights are open to every origin; oidc-provider checks the origin once it knows the client.)
    def token_request(origin: str) -> httpx.Response:
        return client.http.post(
            client.metadata["token_endpoint"],
            headers={"Origin": origin},
            data={"grant_type": "refresh_token", "refresh_token": "unknown", "client_id": CLIENT_ID},
        )

    # When the page's origin and another origin call the token endpoint for the page's client
    from_page, from_elsewhere = token_request(PAGE_ORIGIN), token_request("http://127.0.0.1:9999")

    # Then the page may read the answer and the other origin is refused
    assert from_page.headers.get("access-control-allow-origin") == PAGE_ORIGIN
    assert from_page.json()["error"] == "invalid_grant"
    assert "access-control-allow-origin" not in from_elsewhere.headers
    assert from_elsewhere.json()["error"] == "invalid_request"


def test_sign_out_ends_the_session_and_returns_to_the_page(client: OidcTestClient) -> None:
    # Given a signed-in page
    tokens = client.sign_in("erin")

    # When it sends the browser to end_session, and the browser submits the form there (its script does)
    response = client.http.get(
        client.metadata["end_session_endpoint"],
        params={"id_token_hint": tokens.id_token, "post_logout_redirect_uri": PAGE, "client_id": CLIENT_ID},
    )
    assert response.status_code == 200
    action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', response.text)
    assert action and xsrf
    assert "requestSubmit" in response.text
    response = client.http.post(
        urljoin(str(response.url), html.unescape(action.group(1))),
        data={"xsrf": xsrf.group(1), "logout": "yes"},
    )
    while response.is_redirect and not response.headers["location"].startswith(PAGE):
        response = client.http.get(urljoin(str(response.url), response.headers["location"]))

    # Then it lands on the page, and the next sign-in asks for a login again
    assert response.is_redirect and response.headers["location"] == PAGE
    again = client.http.get(
        client.metadata["authorization_endpoint"],
        params={
            "client_id": CLIENT_ID,
            "response_type": "code",
            "redirect_uri": PAGE,
            "scope": "openid",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        },
        follow_redirects=True,
    )
    assert 'name="login"' in again.text


def test_the_launcher_refuses_a_missing_install_and_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given local/oidc without node_modules
    for name in ("package.json", "package-lock.json"):
        (tmp_path / name).write_text("{}", encoding="utf-8")
    monkeypatch.setattr(oidc_provider, "HERE", tmp_path)
    monkeypatch.setattr(oidc_provider, "STAMP", tmp_path / "node_modules" / ".stamp")

    # Then starting says what to run
    with pytest.raises(OidcProviderError, match=r"missing: run scripts/bootstrap --node"):
        OidcProvider().start()

    # And an install from another lockfile is stale
    (tmp_path / "node_modules" / "oidc-provider").mkdir(parents=True)
    (tmp_path / "node_modules" / ".stamp").write_text("0" * 64, encoding="utf-8")
    with pytest.raises(OidcProviderError, match=r"stale .*scripts/bootstrap --node"):
        OidcProvider().start()
