"""The page as a deploy publishes it (publisher.served.served_files), served from memory at `/`.

Each file has the Content-Type the publisher gives its S3 object. web/ is read again, and minified
again, whenever a file in it changes, so an edit shows on the next reload as before.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from publisher.served import served_files
from publisher.site import INDEX_KEY, content_type


class ServedPage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._stamp: tuple[tuple[str, int, int], ...] = ()
        self._files: dict[str, bytes] = {}

    def files(self) -> dict[str, bytes]:
        stamp = tuple(_stat(path) for path in sorted(self.root.rglob("*")))
        if stamp != self._stamp:
            self._files, self._stamp = served_files(self.root), stamp
        return self._files

    async def handle(self, request: web.Request) -> web.Response:
        key = request.match_info["key"] or INDEX_KEY
        body = self.files().get(key)
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, headers={"Content-Type": content_type(key)})


def _stat(path: Path) -> tuple[str, int, int]:
    status = path.stat()
    return str(path), status.st_mtime_ns, status.st_size
