"""The page's files as the local stack serves them: web/ at `/`, and any extra folders (the benchmark's
reference page). The page's headers and config.json are local.page_server's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from local.stack_options import REPO

WEB_ROOT = REPO / "web"


def add_page_files(router: web.UrlDispatcher) -> None:
    """The page at `/`: index.html there, every other file of web/ at its path."""
    add_folder(router, "/", WEB_ROOT)


def add_folder(router: web.UrlDispatcher, prefix: str, folder: Path) -> None:
    """`folder` under `prefix`, its index.html (if any) at the prefix itself."""
    if (folder / "index.html").is_file():
        router.add_get(prefix.rstrip("/") + "/", _file_handler(folder / "index.html"))
    router.add_static(prefix.rstrip("/") or "/", folder, append_version=False)


def _file_handler(path: Path) -> Callable[[web.Request], Any]:
    async def serve(_: web.Request) -> web.FileResponse:
        return web.FileResponse(path)

    return serve
