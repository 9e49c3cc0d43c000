"""API Gateway's HTTP API JWT authorizer, emulated for the local stack.

    authorizer = JwtAuthorizer(issuer, audiences=["realtime-vend-local"])
    outcome = authorizer.authorize(headers.get("authorization"), route_scopes=["realtime-vend/call"])
    if isinstance(outcome, JwtRefusal):
        return outcome.status, outcome.headers, outcome.body  # the integration is never invoked
    event["requestContext"]["authorizer"] = outcome.event_authorizer()

The checks and their order are AWS's documented workflow
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html,
"Authorizing API requests with a JWT authorizer"):
1. the identity source holds the token, alone or prefixed with "Bearer";
2. decode it;
3. algorithm and signature, with the issuer's public key from its jwks_uri (only RSA algorithms;
   keys cached up to two hours); `kid` must name a key there;
4. claims: `iss` equals the issuer; `aud` is one of the audiences, or, only when `aud` is absent,
   `client_id` is (when both are present `aud` alone counts); `exp` after now, `nbf` and `iat` before
   now (UTC); `scope` or `scp` holds at least one of the route's authorizationScopes.
A token failing 1-4 short of the scope is 401 {"message":"Unauthorized"} with a
`www-authenticate: Bearer scope="" error="invalid_token" error_description="..."` header: the shape is
the one AWS documents for a wrong audience, "the token does not have a valid audience"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html); AWS
publishes no other description, so the others here are ours, in the same shape. A request with no token
gets 401 and a bare `www-authenticate: Bearer`.
A valid token with none of the route's scopes is 403 {"message":"Forbidden"}: AWS's docs say only that
the request is denied; 403 for the scope check (and 401 for everything else) is what emulators
report measuring against the real service (floci-io/floci pull request #2011; KensioSoftware/yulin's
apigatewayv2 docs), and what RFC 6750 section 3.1 prescribes for insufficient_scope. Whether AWS sends a
www-authenticate header with that 403 is not documented; none is sent here.

What the integration receives (requestContext.authorizer.jwt), as observed on the real service: every
claim value is a string (numbers in decimal, booleans as true/false, a list the way Go prints a slice:
"[a b]", an object as JSON), null claims are left out (floci-io/floci #2011, measured); `scopes` is the
token's scopes when the route has authorizationScopes, else null (aws/aws-lambda-go #317,
DefinitelyTyped #75458, localstack #6864).
Signature and key handling are PyJWT's (PyJWKClient for the JWKS, jwt.decode for the rest).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

UNAUTHORIZED = json.dumps({"message": "Unauthorized"}, separators=(",", ":"))
FORBIDDEN = json.dumps({"message": "Forbidden"}, separators=(",", ":"))
# "Currently, only RSA-based algorithms are supported" (the JWT authorizer page, step 3).
ALGORITHMS = ("RS256", "RS384", "RS512")
# "API Gateway can cache the public keys for two hours" (step 3).
JWKS_LIFESPAN_SECONDS = 2 * 60 * 60


@dataclass(frozen=True)
class JwtAuthorization:
    """An accepted token: the claims and scopes API Gateway puts in the event."""

    claims: dict[str, str]
    scopes: list[str] | None

    def event_authorizer(self) -> dict[str, Any]:
        """The value of the event's requestContext.authorizer."""
        return {"jwt": {"claims": dict(self.claims), "scopes": self.scopes}}


@dataclass(frozen=True)
class JwtRefusal:
    """API Gateway's answer in place of the integration's. `reason` is for logs, never for the client."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    reason: str = ""


class JwtAuthorizer:
    """One JWT authorizer (an issuer and its audiences), as configured on an HTTP API."""

    def __init__(self, issuer: str, audiences: Sequence[str], *, timeout: float = 5.0) -> None:
        if not issuer or not audiences:
            raise ValueError("a JWT authorizer needs an issuer and at least one audience")
        self.issuer = issuer
        self.audiences = tuple(audiences)
        self._timeout = timeout
        self._jwks: jwt.PyJWKClient | None = None

    def prefetch(self) -> None:
        """Reads discovery and the JWKS now (blocking I/O) so that `authorize` need not."""
        self._jwks_client().get_jwk_set()

    def _jwks_client(self) -> jwt.PyJWKClient:
        if self._jwks is None:
            discovery_url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            response = httpx.get(discovery_url, timeout=self._timeout)
            response.raise_for_status()
            self._jwks = jwt.PyJWKClient(
                str(response.json()["jwks_uri"]),
                lifespan=JWKS_LIFESPAN_SECONDS,
                timeout=int(max(1, self._timeout)),
            )
        return self._jwks

    def authorize(
        self, authorization: str | None, route_scopes: Sequence[str] = ()
    ) -> JwtAuthorization | JwtRefusal:
        """Validates the Authorization header's value (None when absent) for a route with these scopes.

        Blocking on the first call (discovery and JWKS over HTTP) unless `prefetch()` ran; afterwards
        it fetches again only for an unknown `kid` or once the cached keys are two hours old.
        """
        token = _token_from(authorization)
        if token is None:
            return JwtRefusal(401, UNAUTHORIZED, {"www-authenticate": "Bearer"}, "no token")
        claims = self._verified_claims(token)
        if isinstance(claims, JwtRefusal):
            return claims
        refused = self._check_claims(claims)
        if refused is not None:
            return refused
        scopes = _scopes(claims)
        if route_scopes and not set(route_scopes) & set(scopes):
            return JwtRefusal(403, FORBIDDEN, {}, "the token has none of the route's scopes")
        return JwtAuthorization(_flatten_claims(claims), scopes if route_scopes else None)

    def _verified_claims(self, token: str) -> dict[str, Any] | JwtRefusal:
        """Steps 2 and 3: decode, then the algorithm, the kid and the signature."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            return _invalid("the token is malformed")
        if header.get("alg") not in ALGORITHMS:
            return _invalid(f"signing method {header.get('alg')} is invalid")
        if not isinstance(header.get("kid"), str):
            return _invalid("the token has no kid")
        try:
            key = self._jwks_client().get_signing_key(header["kid"])
        except (jwt.PyJWKClientError, httpx.HTTPError, KeyError, ValueError):
            return _invalid("no key in the issuer's jwks_uri matches the token's kid")
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[header["alg"]],
                # The claims are checked apart, in AWS's order and by AWS's rules (client_id, iat).
                options={
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidTokenError:
            return _invalid("the token signature is invalid")

    def _check_claims(self, claims: Mapping[str, Any]) -> JwtRefusal | None:
        now = time.time()
        if claims.get("iss") != self.issuer:
            return _invalid("the token does not have a valid issuer")
        audience = claims.get("aud") if "aud" in claims else claims.get("client_id")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(isinstance(value, str) and value in self.audiences for value in audiences):
            return _invalid("the token does not have a valid audience")
        for name, must_be_after_now in (("exp", True), ("nbf", False), ("iat", False)):
            value = claims.get(name)
            if value is None and name != "exp":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                return _invalid(f"the token has no valid {name}")
            if (value <= now) if must_be_after_now else (value > now):
                expired = "the token has expired"
                return _invalid(expired if name == "exp" else f"the token's {name} is in the future")
        return None


def _token_from(authorization: str | None) -> str | None:
    """The identity source holds the token alone or after "Bearer " (AWS's step 1)."""
    if authorization is None:
        return None
    value = authorization.strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        value = rest.strip()
    return value or None


def _invalid(description: str) -> JwtRefusal:
    challenge = f'Bearer scope="" error="invalid_token" error_description="{description}"'
    return JwtRefusal(401, UNAUTHORIZED, {"www-authenticate": challenge}, description)


def _scopes(claims: Mapping[str, Any]) -> list[str]:
    value = claims.get("scope", claims.get("scp"))
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [scope for scope in value if isinstance(scope, str)]
    return []


def _flatten_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    return {name: _flatten(value) for name, value in claims.items() if value is not None}


def _flatten(value: Any) -> str:
    """A claim value the way API Gateway hands it on: a string, lists printed like a Go slice."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + " ".join(_flatten(item) for item in value if item is not None) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
