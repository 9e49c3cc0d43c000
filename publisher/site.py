"""What is published: every file of the bundled web/ plus a config.json made from the stack.

Each object carries the headers browsers and CloudFront cache by. Nothing here is fingerprinted, so
nothing is `immutable`: the HTML and config.json revalidate on every load, and scripts and styles
are trusted for five minutes at most (a deploy also invalidates CloudFront's copies).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

CONFIG_KEY = "config.json"
INDEX_KEY = "index.html"
SESSION_URL = "/api/session"
CALLS_PATH = "/v1/realtime/calls"

NO_CACHE = "no-cache"
SHORT = "public, max-age=300, must-revalidate"
ASSET = "public, max-age=3600, must-revalidate"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
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
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_CACHE_BY_SUFFIX = {".html": NO_CACHE, ".js": SHORT, ".mjs": SHORT, ".css": SHORT, ".map": SHORT}
# The template's RealtimeOrigin pattern: an https origin, no path (the CSP's connect-src is an origin).
_ORIGIN = re.compile(r"^https://[a-z0-9.-]+(:[0-9]+)?$")


class SiteError(ValueError):
    """The bundle or the stack's properties cannot make a working page."""


@dataclass(frozen=True, slots=True)
class SiteObject:
    key: str
    body: bytes
    content_type: str
    cache_control: str


def content_type(key: str) -> str:
    return CONTENT_TYPES.get(Path(key).suffix.lower(), DEFAULT_CONTENT_TYPE)


def cache_control(key: str) -> str:
    if key == CONFIG_KEY:
        return NO_CACHE
    return _CACHE_BY_SUFFIX.get(Path(key).suffix.lower(), ASSET)


def page_config(realtime_origin: str) -> dict[str, str]:
    """The page's config.json contract (web/js/config.js reads exactly these two keys)."""
    if not _ORIGIN.fullmatch(realtime_origin):
        raise SiteError(f"RealtimeOrigin must be an https origin without a path, got {realtime_origin!r}")
    return {"sessionUrl": SESSION_URL, "realtimeCallsUrl": f"{realtime_origin}{CALLS_PATH}"}


def config_object(realtime_origin: str) -> SiteObject:
    body = (json.dumps(page_config(realtime_origin)) + "\n").encode("utf-8")
    return SiteObject(CONFIG_KEY, body, content_type(CONFIG_KEY), cache_control(CONFIG_KEY))


def bundled_files(root: Path) -> list[SiteObject]:
    """Every file under `root` (web/ as `sam build` copied it), keyed by its path; dotfiles skipped.

    web/config.json is left out: the stack's own replaces it (the checked-in one is for local use).
    """
    if not (root / INDEX_KEY).is_file():
        raise SiteError(f"the bundled site has no {INDEX_KEY} (was web/ copied by `sam build`?)")
    objects = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        key = relative.as_posix()
        if key == CONFIG_KEY:
            continue
        objects.append(SiteObject(key, path.read_bytes(), content_type(key), cache_control(key)))
    return objects


def site_objects(root: Path, realtime_origin: str) -> list[SiteObject]:
    """The whole publication: the bundled files and the generated config.json."""
    return [*bundled_files(root), config_object(realtime_origin)]
