"""What is published: the page's files from the bundled web/ plus a config.json made from the stack.

Only an allow-list of file types is published (CONTENT_TYPES): the bucket is public through CloudFront,
so a stray file in web/ (a source map, a .env, a key, an editor backup) is skipped and logged instead.
Each object carries the headers browsers and CloudFront cache by. Nothing here is fingerprinted, so
nothing is `immutable`: the HTML and config.json revalidate on every load, and scripts and styles
are trusted for five minutes at most (a deploy also invalidates CloudFront's copies).

`sam build` imports this module on the deployer's own Python too (publisher/served.py writes the
minified site/ with it), which may be older than the runtime's: no dataclass slots here.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CONFIG_KEY = "config.json"
INDEX_KEY = "index.html"
SESSION_URL = "/api/session"
CALL_URL = "/api/call"
CALLS_PATH = "/v1/realtime/calls"
# The template's CallMode values. client_secret is also what a stack that predates the property
# publishes (and what a rollback's Update, sent with the old properties, gets).
CALL_MODES = ("client_secret", "relay", "both")
DEFAULT_CALL_MODE = "client_secret"
# The template's VoiceApi values; realtime is what a stack that predates the property serves. GPT-Live
# is relayed only (the template's rule LiveNeedsRelay), so live with any other call mode is refused.
VOICE_APIS = ("realtime", "live")
DEFAULT_VOICE_API = "realtime"

NO_CACHE = "no-cache"
SHORT = "public, max-age=300, must-revalidate"
ASSET = "public, max-age=3600, must-revalidate"

# The allow-list: only these suffixes are page assets. Source maps (.map) are left out on purpose: they
# publish the unminified sources and nothing on the page needs them.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
_CACHE_BY_SUFFIX = {".html": NO_CACHE, ".js": SHORT, ".mjs": SHORT, ".css": SHORT}
# The template's RealtimeOrigin pattern: an https origin, no path (the CSP's connect-src is an origin).
_ORIGIN = re.compile(r"^https://[a-z0-9.-]+(:[0-9]+)?$")

logger = logging.getLogger("publisher")


class SiteError(ValueError):
    """The bundle or the stack's properties cannot make a working page."""


@dataclass(frozen=True)
class PageAuth:
    """How the page signs visitors in (config.json's auth): the issuer whose discovery document names
    the endpoints, the page's public client, the audience to ask for, the scope the API requires, and
    the scope to request for it (Entra ID names it `api://<app>/Call` and its tokens carry `Call`)."""

    issuer: str
    client_id: str
    audience: str
    scope: str
    request_scope: str = ""

    def __post_init__(self) -> None:
        parts = urlsplit(self.issuer)
        loopback = parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost"}
        if not (parts.scheme == "https" or loopback) or not parts.hostname or parts.query or parts.fragment:
            raise SiteError(f"the auth issuer must be an https URL, got {self.issuer!r}")
        for name, value in (
            ("client id", self.client_id),
            ("audience", self.audience),
            ("scope", self.scope),
            ("request scope", self.request_scope or self.scope),
        ):
            if not value or any(c.isspace() for c in value):
                raise SiteError(f"the auth {name} must be one non-empty word, got {value!r}")

    @classmethod
    def from_properties(cls, auth: object) -> PageAuth | None:
        """SitePublication's Auth property: absent for anonymous visitors (and for a stack that predates
        it), else {"Issuer", "ClientId", "Audience", "Scope", "RequestScope"} as template.yaml passes them
        (RequestScope is optional: a stack that predates it requests Scope itself)."""
        if auth is None:
            return None
        if not isinstance(auth, Mapping):
            raise SiteError(f"Auth must be an object, got {auth!r}")
        values = {name: auth.get(name) for name in ("Issuer", "ClientId", "Audience", "Scope")}
        if not all(isinstance(v, str) for v in values.values()):
            raise SiteError(
                f"Auth needs the strings Issuer, ClientId, Audience and Scope, got {dict(auth)!r}"
            )
        return cls(
            issuer=str(values["Issuer"]),
            client_id=str(values["ClientId"]),
            audience=str(values["Audience"]),
            scope=str(values["Scope"]),
            request_scope=_optional_string(auth.get("RequestScope"), "RequestScope"),
        )

    def as_config(self) -> dict[str, str]:
        return {
            "issuer": self.issuer,
            "clientId": self.client_id,
            "audience": self.audience,
            "scope": self.scope,
            "requestScope": self.request_scope or self.scope,
        }


def _optional_string(value: object, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SiteError(f"Auth's {name} must be a string, got {value!r}")
    return value


@dataclass(frozen=True)
class SiteObject:
    key: str
    body: bytes
    content_type: str
    cache_control: str


def publishable(key: str) -> bool:
    """Whether a file of this name may become public: its suffix is on the allow-list."""
    return Path(key).suffix.lower() in CONTENT_TYPES


def content_type(key: str) -> str:
    suffix = Path(key).suffix.lower()
    if suffix not in CONTENT_TYPES:
        raise SiteError(f"{key} is not a page asset type ({', '.join(sorted(CONTENT_TYPES))})")
    return CONTENT_TYPES[suffix]


def cache_control(key: str) -> str:
    if key == CONFIG_KEY:
        return NO_CACHE
    return _CACHE_BY_SUFFIX.get(Path(key).suffix.lower(), ASSET)


def voice_config(voice_api: str, typed_text: bool, call_mode: str) -> dict[str, Any]:
    """config.json's voiceApi and typedText: which protocol the page speaks on its data channel, and
    whether it shows its text box (a Realtime page always does). The local stack serves the same."""
    if voice_api not in VOICE_APIS:
        raise SiteError(f"VoiceApi must be one of {', '.join(VOICE_APIS)}, got {voice_api!r}")
    if voice_api == "live" and call_mode != "relay":
        raise SiteError(f"VoiceApi live needs CallMode relay, got {call_mode!r}")
    return {"voiceApi": voice_api, "typedText": typed_text or voice_api == "realtime"}


def page_config(
    realtime_origin: str,
    call_mode: str = DEFAULT_CALL_MODE,
    auth: PageAuth | None = None,
    *,
    voice_api: str = DEFAULT_VOICE_API,
    typed_text: bool = True,
) -> dict[str, Any]:
    """The page's config.json contract (web/js/config.js reads exactly these keys): where to fetch a
    client secret, where to open a call with one, which of the two ways the stack serves (callMode),
    where a relayed call is posted, how visitors sign in (auth: null for anonymous visitors), and the
    voice API with its typed-text switch (voice_config)."""
    if not _ORIGIN.fullmatch(realtime_origin):
        raise SiteError(f"RealtimeOrigin must be an https origin without a path, got {realtime_origin!r}")
    if call_mode not in CALL_MODES:
        raise SiteError(f"CallMode must be one of {', '.join(CALL_MODES)}, got {call_mode!r}")
    return {
        "sessionUrl": SESSION_URL,
        "realtimeCallsUrl": f"{realtime_origin}{CALLS_PATH}",
        "callMode": call_mode,
        "callUrl": CALL_URL,
        "auth": auth.as_config() if auth else None,
        **voice_config(voice_api, typed_text, call_mode),
    }


def config_object(
    realtime_origin: str,
    call_mode: str = DEFAULT_CALL_MODE,
    auth: PageAuth | None = None,
    *,
    voice_api: str = DEFAULT_VOICE_API,
    typed_text: bool = True,
) -> SiteObject:
    config = page_config(realtime_origin, call_mode, auth, voice_api=voice_api, typed_text=typed_text)
    body = (json.dumps(config) + "\n").encode("utf-8")
    return SiteObject(CONFIG_KEY, body, content_type(CONFIG_KEY), cache_control(CONFIG_KEY))


def page_files(root: Path) -> dict[str, bytes]:
    """Every page asset under `root`, by its key (its path under `root`), as it is on disk.

    Skipped: dotfiles and dot-folders, symbolic links (their target may be anything on the build
    machine), and every file whose type is not on the allow-list, each with a log line naming it.
    config.json is left out too: the stack's own replaces it (web/'s is for local use).
    """
    if not (root / INDEX_KEY).is_file():
        raise SiteError(f"the bundled site has no {INDEX_KEY} (was web/ copied by `sam build`?)")
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        key = relative.as_posix()
        if any(part.startswith(".") for part in relative.parts) or key == CONFIG_KEY:
            continue
        if path.is_symlink():
            logger.warning("skipped a symbolic link; only regular files are published", extra={"key": key})
            continue
        if not path.is_file():
            continue
        if not publishable(key):
            logger.warning("skipped a file that is not a page asset type", extra={"key": key})
            continue
        files[key] = path.read_bytes()
    return files


def bundled_files(root: Path) -> list[SiteObject]:
    """The page assets of the bundled site (site/, which `sam build` wrote with publisher/served.py),
    as they are: with the headers they are published with."""
    return [
        SiteObject(key, body, content_type(key), cache_control(key)) for key, body in page_files(root).items()
    ]


def site_objects(
    root: Path,
    realtime_origin: str,
    call_mode: str = DEFAULT_CALL_MODE,
    auth: PageAuth | None = None,
    *,
    voice_api: str = DEFAULT_VOICE_API,
    typed_text: bool = True,
) -> list[SiteObject]:
    """The whole publication: the bundled files and the generated config.json."""
    config = config_object(realtime_origin, call_mode, auth, voice_api=voice_api, typed_text=typed_text)
    return [*bundled_files(root), config]
