"""Did this request come through our CloudFront, and from our own page?

Two different guards. The origin header proves CloudFront sent the request: CloudFront adds it to
every /api request and nobody else knows it, so a direct call to the execute-api URL is refused.
The site checks prove the *browser* was on our page: another site can make its visitors' browsers
POST here without a preflight (`fetch` with `mode: 'no-cors'`, `navigator.sendBeacon`, a form), and
browsers mark those requests. Scripts can forge every header the site checks read, so they guard
against other sites, not against scripts: the quota does that.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit

from vend.errors import CrossSiteRequest, Forbidden, ServerMisconfigured

ORIGIN_VERIFY_HEADER = "x-origin-verify"
FORWARDED_HOST_HEADER = "x-forwarded-host"  # the viewer's Host, written by our CloudFront Function
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def require_cloudfront(headers: Mapping[str, str], accepted: tuple[bytes, ...]) -> None:
    """403 unless the origin header equals one of the accepted values (current, previous).

    Every candidate is compared, in constant time, so the answer's timing says nothing about which
    value or how much of it matched.
    """
    presented = headers.get(ORIGIN_VERIFY_HEADER, "").encode("utf-8", errors="surrogateescape")
    matched = False
    for value in accepted:
        matched |= hmac.compare_digest(presented, value)
    if not presented or not matched:
        raise Forbidden("origin_header_missing" if not presented else "origin_header_mismatch")


def require_own_page(headers: Mapping[str, str]) -> None:
    """403 for a request a browser marks as another site's.

    The route's parser adds the third check: a JSON content type, required even for an empty body,
    since it cannot be sent cross-site without a preflight, which we never answer.
    """
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.strip().lower() != "same-origin":
        raise CrossSiteRequest(f"sec_fetch_site_{_token(fetch_site)}")
    origin = headers.get("origin")
    if origin is not None and not _is_own_origin(origin, headers.get(FORWARDED_HOST_HEADER)):
        raise CrossSiteRequest("origin_mismatch")


def is_json_media_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def _is_own_origin(origin: str, forwarded_host: str | None) -> bool:
    if not forwarded_host:
        # Our CloudFront Function always writes it; without it no Origin can be checked.
        raise ServerMisconfigured("forwarded_host_missing")
    host = forwarded_host.strip().lower()
    try:
        parts = urlsplit(origin.strip().lower())
    except ValueError:
        return False
    if parts.netloc != host or parts.path or parts.query or parts.fragment:
        return False
    # The page is served over https only; plain http is the local stack on loopback.
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS)


def _token(value: str) -> str:
    return "".join(c for c in value.lower()[:24] if c.isalnum() or c == "-") or "empty"
