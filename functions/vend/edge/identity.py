"""Who is asking: the JWT subject when an authorizer vouched for one, else the viewer's IP address.

With an issuer configured (signed-in mode) only the subject counts: a request without one, or with a
subject from another issuer, is refused rather than counted by address. API Gateway's JWT authorizer
has already checked the token; this is the function's own check that it sits behind that authorizer.

The address comes only from `CloudFront-Viewer-Address`, which CloudFront writes itself (a viewer's
copy is replaced) and which reaches us only with the origin header checked before this runs. Never
from `X-Forwarded-For` or anything else a viewer can set. An IPv6 viewer counts per /64: one host
is routinely given a whole /64, so per-address counting would give it 2^64 quotas.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from vend.errors import ServerMisconfigured, SignInRequired
from vend.logic.visitors import Identity

VIEWER_ADDRESS_HEADER = "cloudfront-viewer-address"
MAX_SUBJECT_CHARS = 255


def identify(
    headers: Mapping[str, str], request_context: Mapping[str, Any], *, issuer: str | None = None
) -> Identity:
    claims = _jwt_claims(request_context)
    subject = _subject(claims)
    if issuer is not None:
        if subject is None:
            raise SignInRequired("no_jwt_subject")
        if claims.get("iss") != issuer:
            raise SignInRequired("jwt_issuer_mismatch")
    if subject is not None:
        return Identity("sub", subject)
    return viewer_ip(headers.get(VIEWER_ADDRESS_HEADER))


def viewer_ip(header: str | None) -> Identity:
    """`198.51.100.10:46532` or `2001:db8::1:46532` (IPv6 without brackets): the address, port dropped."""
    if not header:
        # With a valid origin header, only a distribution that does not forward the header gets here.
        raise ServerMisconfigured("viewer_address_missing")
    host, _, port = header.strip().rpartition(":")
    if not port.isdigit():
        raise ServerMisconfigured("viewer_address_unparsable")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise ServerMisconfigured("viewer_address_unparsable") from None
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        if mapped is not None:
            return Identity("ipv4", str(mapped))
        network = ipaddress.IPv6Network((address, 64), strict=False)
        return Identity("ipv6-64", str(network))
    return Identity("ipv4", str(address))


def _jwt_claims(request_context: Mapping[str, Any]) -> Mapping[str, Any]:
    """`requestContext.authorizer.jwt.claims`, or empty when no JWT authorizer ran."""
    authorizer = request_context.get("authorizer")
    jwt = authorizer.get("jwt") if isinstance(authorizer, Mapping) else None
    claims = jwt.get("claims") if isinstance(jwt, Mapping) else None
    return claims if isinstance(claims, Mapping) else {}


def _subject(claims: Mapping[str, Any]) -> str | None:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_CHARS:
        return None
    return subject
