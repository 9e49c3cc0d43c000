"""The page's files as the local stack serves them: web/ at `/` exactly as a deploy publishes it
(publisher.served.served_files, minified), and any extra folders as they are (the benchmark's reference
page). The page's headers and config.json are local.page_server's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from local.served_page import ServedPage
from local.stack_options import REPO

WEB_ROOT = REPO / "web"


def add_page_files(router: web.UrlDispatcher) -> None:
    """Every served file of web/ at its path, index.html at `/`; anything else is 404. Added last: the
    routes added before it (config.json, /api/*, the extra folders) come first."""
    router.add_get("/{key:.*}", ServedPage(WEB_ROOT).handle)


def add_folder(router: web.UrlDispatcher, prefix: str, folder: Path) -> None:
    """`folder` under `prefix`, its index.html (if any) at the prefix itself."""
    if (folder / "index.html").is_file():
        router.add_get(prefix.rstrip("/") + "/", _file_handler(folder / "index.html"))
    router.add_static(prefix.rstrip("/") or "/", folder, append_version=False)


def _file_handler(path: Path) -> Callable[[web.Request], Any]:
    async def serve(_: web.Request) -> web.FileResponse:
        return web.FileResponse(path)

    return serve
