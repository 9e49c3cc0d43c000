"""What the page's visitors are served: web/ as it is published, minified. Build time only.

    python -m publisher.served web/ OUT/     # what publisher/Makefile runs in `sam build`

`served_files(web)` is the one answer to "which bytes does a visitor get": `sam build` writes it to
the publisher's site/ (which the deployed publisher uploads as it finds it, site.bundled_files), and
the local stack serves it from memory (local/served_page.py), so both serve the same bytes.

web/ keeps the readable sources; visitors get them without comments and indentation, which were
about half of the first load's bytes. Scripts go through rJSmin and styles through rCSSmin (kept,
pure-Python minifiers: `sam build` runs on the deployer's machine, which needs only a Python with pip,
and they never reach the Lambda). They strip comments and whitespace and rename nothing, so what
runs is the source as written. index.html loses its comments and indentation only. Vendored files
(js/vendor/) are served byte for byte: their licence, version and checksum file describe them as
published.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import rcssmin  # type: ignore[import-untyped]
import rjsmin  # type: ignore[import-untyped]

from publisher import site

VENDORED = "js/vendor/"
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_INDENTED_LINE = re.compile(r"\n[ \t]*(?:\n[ \t]*)*")
# Whitespace is meaningful inside these, so an HTML file holding one is only stripped of comments.
_VERBATIM = re.compile(r"<(?:pre|textarea|script)\b[^>]*>(?!</)", re.IGNORECASE)


def minify_html(text: str) -> str:
    """Comments out and lines unindented. Line breaks stay: between inline elements (the buttons)
    they are the one space the layout shows."""
    text = _HTML_COMMENT.sub("", text)
    if _VERBATIM.search(text):
        return text
    return _INDENTED_LINE.sub("\n", text).strip()


def minify_js(text: str) -> str:
    return str(rjsmin.jsmin(text, keep_bang_comments=True))


def minify_css(text: str) -> str:
    return str(rcssmin.cssmin(text, keep_bang_comments=True))


_MINIFIERS: dict[str, Callable[[str], str]] = {
    ".html": minify_html,
    ".js": minify_js,
    ".mjs": minify_js,
    ".css": minify_css,
}


def served_file(key: str, body: bytes) -> bytes:
    """One page asset as served: minified if it is ours and a script, a style or a page."""
    minify = _MINIFIERS.get(Path(key).suffix.lower())
    if minify is None or key.startswith(VENDORED):
        return body
    return minify(body.decode("utf-8")).encode("utf-8")


def served_files(web: Path) -> dict[str, bytes]:
    """Every file a deploy publishes from `web` (site.page_files: the allow-list, no config.json),
    as visitors get it: {key: bytes}."""
    return {key: served_file(key, body) for key, body in site.page_files(web).items()}


def write(files: dict[str, bytes], out: Path) -> None:
    for key, body in files.items():
        target = out / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m publisher.served WEB_DIR OUT_DIR", file=sys.stderr)
        return 2
    web, out = Path(argv[0]), Path(argv[1])
    files = served_files(web)
    write(files, out)
    print(f"publisher/served.py: {len(files)} files from {web} minified into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
