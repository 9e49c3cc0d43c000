"""A test client for local/oidc: signs in on the provider's own login page over HTTP, as a browser would.

Authorization code flow with PKCE (S256, by hand: it is a test client): GET the authorization endpoint,
follow the provider's redirects to its login form, post a login name, follow on until the redirect to
the page's redirect URI carries the code, and exchange the code at the token endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


@dataclass
class Tokens:
    access_token: str
    id_token: str
    refresh_token: str
    scope: str
    expires_in: int


class OidcTestClient:
    """One browser-like session (its own cookies) against the provider at `issuer`."""

    def __init__(self, issuer: str, client_id: str, redirect_uri: str) -> None:
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.http = httpx.Client(timeout=10, follow_redirects=False)
        self.metadata: dict[str, Any] = self.http.get(f"{issuer}/.well-known/openid-configuration").json()

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> OidcTestClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def sign_in(self, login: str, scope: str = "openid realtime-vend/call") -> Tokens:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_urlsafe(16)
        response = self.http.get(
            self.metadata["authorization_endpoint"],
            params={
                "client_id": self.client_id,
                "response_type": "code",
                "redirect_uri": self.redirect_uri,
                "scope": scope,
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        response = self._follow(response)
        if not self._at_redirect_uri(response):
            # The provider's login page: one form, any login name, any password.
            action = FORM_ACTION.search(response.text)
            assert action is not None, f"no login form in {response.text[:500]!r}"
            response = self.http.post(
                urljoin(str(response.url), html.unescape(action.group(1))),
                data={"prompt": "login", "login": login, "password": "any"},
            )
            response = self._follow(response)
        assert self._at_redirect_uri(response), f"no redirect to the page: {response.status_code}"
        query = parse_qs(urlsplit(response.headers["location"]).query)
        assert query["state"] == [state]
        assert query["iss"] == [self.metadata["issuer"]]  # RFC 9207, which oidc-provider sends
        return self.exchange(query["code"][0], verifier)

    def exchange(self, code: str, verifier: str) -> Tokens:
        response = self.http.post(
            self.metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "client_id": self.client_id,
                "code_verifier": verifier,
            },
        )
        assert response.status_code == 200, response.text
        return _tokens(response.json())

    def refresh(self, refresh_token: str) -> Tokens:
        response = self.http.post(
            self.metadata["token_endpoint"],
            data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": self.client_id},
        )
        assert response.status_code == 200, response.text
        return _tokens(response.json())

    def _at_redirect_uri(self, response: httpx.Response) -> bool:
        location = response.headers.get("location", "")
        return response.is_redirect and location.startswith(self.redirect_uri)

    def _follow(self, response: httpx.Response) -> httpx.Response:
        """Follows the provider's own redirects; stops at a page or at the redirect to the page."""
        for _ in range(10):
            if not response.is_redirect or self._at_redirect_uri(response):
                return response
            response = self.http.get(urljoin(str(response.url), response.headers["location"]))
        raise AssertionError("too many redirects")


def _tokens(body: dict[str, Any]) -> Tokens:
    return Tokens(
        access_token=body["access_token"],
        id_token=body.get("id_token", ""),
        refresh_token=body.get("refresh_token", ""),
        scope=body.get("scope", ""),
        expires_in=int(body["expires_in"]),
    )
