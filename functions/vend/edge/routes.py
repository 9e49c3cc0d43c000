"""Which paths exist and which methods each accepts: decides 404 from 405 for anything unrouted.

API Gateway forwards any method (TRACE, PROPFIND, made-up tokens…) to the function, so a list of
"the other methods" can never be complete: a path we serve answers 405 for every method it lacks.
"""

from __future__ import annotations

import re

from vend.errors import MethodNotAllowed, RouteNotFound, VendError

ROUTES: dict[str, tuple[str, ...]] = {
    "/api/session": ("POST",),
    "/api/call": ("POST",),
}
# Paths with a parameter: their pattern, and the methods they accept.
PATTERNS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"/api/call/[^/]+"), ("DELETE",)),
)


def refusal_for(path: str) -> VendError:
    """The error for a request no route matched: 405 on a path we serve, 404 anywhere else."""
    methods = ROUTES.get(path)
    if methods is None:
        methods = next((allowed for pattern, allowed in PATTERNS if pattern.fullmatch(path)), None)
    if methods is None:
        return RouteNotFound()
    return MethodNotAllowed(methods)
