"""CloudFront's `/api/*` behaviour in front of the local API Gateway: what the deployed function sees.

In the deployed stack a viewer never reaches API Gateway with headers of its own choosing under three
names: CloudFront writes `CloudFront-Viewer-Address` from the TCP connection, our CloudFront Function
writes `X-Forwarded-Host` from the viewer's Host, and the origin adds `X-Origin-Verify` (the secret's
value, resolved at deploy). Viewer copies of those are replaced, whatever their case. Everything else
is forwarded as the AllViewerExceptHostHeader origin request policy does: every viewer header but
Host (the origin gets its own domain), minus hop-by-hop headers, with CloudFront's own `Via`,
`X-Amz-Cf-Id` and the viewer's address appended to `X-Forwarded-For`.

`CloudFrontStandin.handle` is an aiohttp handler that rewrites the request that way and passes it to
the origin handler (the Lambda adapter), in process: no second HTTP hop, but the same headers.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from multidict import CIMultiDict

OriginHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ORIGIN_VERIFY = "X-Origin-Verify"
VIEWER_ADDRESS = "CloudFront-Viewer-Address"
FORWARDED_HOST = "X-Forwarded-Host"
# Never forwarded to an origin (RFC 9110 hop-by-hop, plus what CloudFront documents it drops or
# rewrites itself); Host is the policy's one exception.
_DROPPED = (
    "Host",
    "Connection",
    "Keep-Alive",
    "Proxy-Connection",
    "Proxy-Authorization",
    "TE",
    "Trailer",
    "Upgrade",
    "Expect",
    "Via",
    "X-Amz-Cf-Id",
    ORIGIN_VERIFY,
    VIEWER_ADDRESS,
    FORWARDED_HOST,
)


def viewer_address(request: web.Request) -> str:
    """`ip:port` of the TCP peer, IPv6 without brackets (`2001:db8::1:443`), as CloudFront writes it."""
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    if not peer:
        raise web.HTTPInternalServerError(text="no peer address")
    host, port = str(peer[0]), int(peer[1])
    return f"{host}:{port}"


def origin_headers(
    request: web.Request, *, origin_host: str, origin_verify: str, viewer: str
) -> CIMultiDict[str]:
    """The headers CloudFront sends the API origin for this viewer request."""
    headers: CIMultiDict[str] = CIMultiDict(request.headers)
    for name in _DROPPED:
        headers.popall(name, None)  # CIMultiDict: any case the client chose
    viewer_ip = viewer.rpartition(":")[0]
    forwarded_for = ", ".join(headers.popall("X-Forwarded-For", []))
    headers["X-Forwarded-For"] = f"{forwarded_for}, {viewer_ip}" if forwarded_for else viewer_ip
    headers["Host"] = origin_host
    headers["Via"] = (
        f"{request.version.major}.{request.version.minor} {secrets.token_hex(16)}.cloudfront.net (CloudFront)"
    )
    headers["X-Amz-Cf-Id"] = base64.urlsafe_b64encode(secrets.token_bytes(42)).decode("ascii")
    headers[VIEWER_ADDRESS] = viewer
    headers[FORWARDED_HOST] = request.host
    headers[ORIGIN_VERIFY] = origin_verify
    return headers


class CloudFrontStandin:
    """Forwards `/api/*` to `origin` with the headers the deployed distribution would send.

    `origin_host` is the API origin's `host:port` (the execute-api stand-in's), `origin_verify` the
    origin header's value. A deploy resolves it once, so a plain attribute models it: set it to play a
    redeploy after a rotation.
    """

    def __init__(self, origin: OriginHandler, *, origin_host: str, origin_verify: str) -> None:
        self._origin = origin
        self.origin_host = origin_host
        self.origin_verify = origin_verify

    async def handle(self, request: web.Request) -> web.StreamResponse:
        headers = origin_headers(
            request,
            origin_host=self.origin_host,
            origin_verify=self.origin_verify,
            viewer=viewer_address(request),
        )
        # API Gateway's peer is CloudFront, not the viewer: our own address on that connection.
        sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
        edge = str(sockname[0]) if sockname else "127.0.0.1"
        return await self._origin(request.clone(headers=headers, host=self.origin_host, remote=edge))
