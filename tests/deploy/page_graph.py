"""What a visitor's first load fetches, read from the served files (publisher.served.served_files).

The first load is index.html, everything it names (src/href), and every module those import
statically, transitively: what the browser fetches before the page can work. A dynamic `import()` is
not followed: those modules load later, when needed (sign-in).
"""

from __future__ import annotations

import gzip
import posixpath
import re
from collections.abc import Mapping

INDEX = "index.html"
_NAMED = re.compile(r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)=["']?([^"' >]+)""", re.IGNORECASE)
_PRELOADED = re.compile(r"""<link\b[^>]*?\brel=["']?modulepreload["']?[^>]*?\bhref=["']?([^"' >]+)""")
_ENTRY = re.compile(r"""<script\b[^>]*?\btype=["']?module["']?[^>]*?\bsrc=["']?([^"' >]+)""")
# Served scripts carry no comments (served.py strips them), so an import statement is code.
_STATIC_IMPORT = re.compile(
    r"""(?:^|[;}\s])(?:import|export)\s*(?:[\w$*{][^'"`;()]*?\bfrom\s*)?["']([^"']+)["']""",
    re.MULTILINE,
)
_DYNAMIC_IMPORT = re.compile(r"""\bimport\(\s*["']([^"']+)["']\s*\)""")
# CloudFront compresses a response only from 1,000 bytes up (smaller ones are sent as they are).
CLOUDFRONT_MIN_COMPRESSED = 1000


def resolve(base: str, target: str) -> str:
    """The key a module specifier names, from the module `base`."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def static_imports(key: str, body: bytes) -> set[str]:
    """The keys of the modules `key` imports statically."""
    return {resolve(key, t) for t in _STATIC_IMPORT.findall(body.decode("utf-8"))}


def dynamic_imports(key: str, body: bytes) -> set[str]:
    """The keys of the modules `key` loads later, with `import('…')`."""
    return {resolve(key, t) for t in _DYNAMIC_IMPORT.findall(body.decode("utf-8"))}


def module_graph(files: Mapping[str, bytes], entry: str) -> set[str]:
    """`entry` and every module it imports statically, transitively."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        todo.extend(static_imports(key, files[key]))
    return seen


def index_names(files: Mapping[str, bytes]) -> set[str]:
    return set(_NAMED.findall(files[INDEX].decode("utf-8")))


def entry_modules(files: Mapping[str, bytes]) -> set[str]:
    return set(_ENTRY.findall(files[INDEX].decode("utf-8")))


def preloaded(files: Mapping[str, bytes]) -> set[str]:
    return set(_PRELOADED.findall(files[INDEX].decode("utf-8")))


def first_load(files: Mapping[str, bytes]) -> set[str]:
    """index.html, what it names, and the static module graph of its module scripts."""
    keys = {INDEX, *index_names(files)}
    for entry in entry_modules(files):
        keys |= module_graph(files, entry)
    return keys


def gzipped_size(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=6, mtime=0))


def first_load_gzipped(files: Mapping[str, bytes]) -> int:
    """The first load's bytes, each file gzipped on its own (as a server compresses each response)."""
    return sum(gzipped_size(files[key]) for key in first_load(files))


def first_load_on_cloudfront(files: Mapping[str, bytes]) -> int:
    """The same, but as CloudFront sends it: files under 1,000 bytes go uncompressed."""
    return sum(
        gzipped_size(body) if len(body) >= CLOUDFRONT_MIN_COMPRESSED else len(body)
        for body in (files[key] for key in first_load(files))
    )
