"""The page's security headers, read from the one place production defines them.

CloudFront adds them in production through the `PageResponseHeadersPolicy` resource in
template.yaml; the local stack, the smoke test and the tests render the same resource into HTTP
headers, so the page is tested under exactly the policy it ships with.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from template_contract.reader import TEMPLATE, TemplateError, load_template

POLICY_RESOURCE = "PageResponseHeadersPolicy"
# The SecurityHeadersConfig entries rendered below. Anything else (e.g. the deprecated XSSProtection)
# stops the stack: a page tested under a policy other than production's proves nothing.
RENDERED_SECURITY_HEADERS = frozenset(
    {
        "ContentSecurityPolicy",
        "StrictTransportSecurity",
        "ContentTypeOptions",
        "ReferrerPolicy",
        "FrameOptions",
    }
)


def _substitute(value: Any, variables: dict[str, str], where: str) -> str:
    """Renders a plain string or a `Fn::Sub` with the given variables; anything else is an error."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        sub = value["Fn::Sub"]
        text, local = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
        names = {**variables, **{k: v for k, v in local.items() if isinstance(v, str)}}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in names:
                raise TemplateError(f"{where} uses ${{{name}}}, which the local stack cannot resolve")
            return names[name]

        return re.sub(r"\$\{([^}!]+)\}", replace, text)
    raise TemplateError(f"{where} must be a string or !Sub, got {value!r}")


def _hsts(config: dict[str, Any]) -> str:
    parts = [f"max-age={int(config['AccessControlMaxAgeSec'])}"]
    if config.get("IncludeSubdomains"):
        parts.append("includeSubDomains")
    if config.get("Preload"):
        parts.append("preload")
    return "; ".join(parts)


def origin_of(url: str) -> str:
    """The origin (`scheme://host[:port]`) of an http(s) URL, as a CSP source names it: what the template
    derives from JwtIssuer for connect-src, so the local stack and the smoke test derive it alike."""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.netloc or "@" in parts.netloc:
        raise TemplateError(f"{url!r} is not an http(s) URL with a host")
    return f"{parts.scheme}://{parts.netloc}"


def page_headers(
    realtime_origin: str, template: Path = TEMPLATE, auth_origins: Sequence[str] = ()
) -> dict[str, str]:
    """The HTTP headers CloudFront's response headers policy adds to the page.

    `realtime_origin` replaces `${RealtimeOrigin}` (the CSP's connect-src allowance for the
    Realtime endpoint), so the local stack can point the page at its stand-in. `auth_origins` replaces
    `${AuthOrigins}`: what the page fetches to sign in, in the template's order (the issuer's origin, then
    a created pool's hosted sign-in domain); none for anonymous visitors, as the template renders it.
    """
    for origin in auth_origins:
        if origin_of(origin) != origin:
            raise TemplateError(f"auth origin {origin!r} is not an origin (scheme://host[:port], no path)")
    resources = load_template(template).get("Resources") or {}
    resource = resources.get(POLICY_RESOURCE)
    if not isinstance(resource, dict) or resource.get("Type") != "AWS::CloudFront::ResponseHeadersPolicy":
        raise TemplateError(
            f"{template} has no {POLICY_RESOURCE} (AWS::CloudFront::ResponseHeadersPolicy) resource"
        )
    config = resource.get("Properties", {}).get("ResponseHeadersPolicyConfig", {})
    security = config.get("SecurityHeadersConfig") or {}
    if unrendered := sorted(set(security) - RENDERED_SECURITY_HEADERS):
        raise TemplateError(
            f"{POLICY_RESOURCE} sets {', '.join(unrendered)}, which the local stack cannot render"
        )
    variables = {"RealtimeOrigin": realtime_origin, "AuthOrigins": "".join(f" {o}" for o in auth_origins)}
    headers: dict[str, str] = {}

    if csp := security.get("ContentSecurityPolicy"):
        headers["Content-Security-Policy"] = _substitute(
            csp["ContentSecurityPolicy"], variables, "ContentSecurityPolicy"
        )
    if hsts := security.get("StrictTransportSecurity"):
        headers["Strict-Transport-Security"] = _hsts(hsts)
    if security.get("ContentTypeOptions") is not None:
        headers["X-Content-Type-Options"] = "nosniff"
    if referrer := security.get("ReferrerPolicy"):
        headers["Referrer-Policy"] = _substitute(referrer["ReferrerPolicy"], variables, "ReferrerPolicy")
    if frame := security.get("FrameOptions"):
        headers["X-Frame-Options"] = str(frame["FrameOption"]).upper()
    for item in (config.get("CustomHeadersConfig") or {}).get("Items") or []:
        name = str(item["Header"])
        headers[name] = _substitute(item["Value"], variables, f"custom header {name}")

    if "Content-Security-Policy" not in headers:
        raise TemplateError(f"{POLICY_RESOURCE} sets no Content-Security-Policy")
    return headers
