"""A real OpenID Connect provider on loopback for the local stack and its tests (local/oidc/provider.mjs).

    from local.oidc_provider import OidcProvider

    with OidcProvider(redirect_uri="http://127.0.0.1:8080/", audience="realtime-vend-local") as idp:
        idp.issuer  # "http://127.0.0.1:<port>", exactly the tokens' `iss`

It is oidc-provider (npm, OpenID Certified) in a Node child: one public client (`client_id`, PKCE S256,
code + refresh_token) whose redirect and post-logout redirect URI is `redirect_uri`; any login name on its
sign-in page signs in as that subject; RS256 JWT access tokens with `aud` = `audience` and `scope` holding
`scope` when it was requested, living `access_token_ttl` seconds. local/oidc/provider.mjs says the rest.

Nothing is installed at run time: `scripts/bootstrap --node` runs `npm ci` in local/oidc and stamps
node_modules with the lockfile it installed from; a missing or stale install is an error here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from local.child_process import PipedChild, RunsAsChild, node_command

HERE = Path(__file__).resolve().parent / "oidc"
SERVER = HERE / "provider.mjs"
# Written by scripts/bootstrap --node after `npm ci`: the sha256 of package.json + package-lock.json.
STAMP = HERE / "node_modules" / ".stamp"
CLIENT_ID = "realtime-vend-local"
DEFAULT_SCOPE = "realtime-vend/call"


class OidcProviderError(RuntimeError):
    """Node or the npm install is missing, or the provider did not come up."""


def lock_digest() -> str:
    """What scripts/bootstrap writes to the stamp: sha256 over package.json then package-lock.json."""
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()


def check_installed() -> None:
    """Raises OidcProviderError unless local/oidc/node_modules was installed from the current lockfile."""
    fix = "run scripts/bootstrap --node (it runs `npm ci` in local/oidc)"
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        raise OidcProviderError(f"{HERE / 'node_modules'} is missing: {fix}")
    if not STAMP.is_file() or STAMP.read_text(encoding="utf-8").strip() != lock_digest():
        raise OidcProviderError(f"{HERE / 'node_modules'} is stale (not from package-lock.json): {fix}")


class OidcProvider(RunsAsChild):
    """The provider as a child process, in memory; `start()` (or `with`) blocks until it listens.

    `issuer` is then its URL (no trailing slash). `stop()` ends it; it also ends by itself when this
    process dies (it exits when its stdin closes). Keys, sessions and grants die with it.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        redirect_uri: str = "http://127.0.0.1:8080/",
        audience: str = CLIENT_ID,
        scope: str = DEFAULT_SCOPE,
        access_token_ttl: int = 600,
        *,
        port: int = 0,
        client_id: str = CLIENT_ID,
        node: str | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        if access_token_ttl < 1:
            raise ValueError("access_token_ttl must be at least 1 second")
        self.host = host
        self.redirect_uri = redirect_uri
        self.audience = audience
        self.scope = scope
        self.access_token_ttl = access_token_ttl
        self.port = port
        self.client_id = client_id
        self._node = node
        self._startup_timeout = startup_timeout
        self._child: PipedChild | None = None
        self._issuer = ""

    @property
    def issuer(self) -> str:
        if self._child is None:
            raise OidcProviderError("the OIDC provider is not started")
        return self._issuer

    def start(self) -> OidcProvider:
        if self._child is not None:
            return self
        check_installed()
        command = node_command(SERVER, self._node, OidcProviderError)
        command += ["--host", self.host, "--port", str(self.port)]
        command += ["--client-id", self.client_id, "--audience", self.audience, "--scope", self.scope]
        command += ["--access-token-ttl", str(self.access_token_ttl), "--redirect-uri", self.redirect_uri]
        command += ["--exit-on-stdin-eof"]
        child = PipedChild(command, cwd=HERE, what="the OIDC provider", error=OidcProviderError)
        ready = child.start(self._startup_timeout)
        self._child = child
        try:
            self._issuer, self.port = str(ready["issuer"]), int(ready["port"])
        except (KeyError, TypeError, ValueError):
            self.stop()
            raise OidcProviderError(f"the OIDC provider printed an odd ready line: {ready!r}") from None
        return self
