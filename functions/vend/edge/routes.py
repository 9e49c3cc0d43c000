"""Which paths exist and which methods each accepts: decides 404 from 405 for anything unrouted.

API Gateway forwards any method (TRACE, PROPFIND, made-up tokens…) to the function, so a list of
"the other methods" can never be complete: a path we serve answers 405 for every method it lacks.
"""

from __future__ import annotations

import re

from vend.errors import CallNotFound, MethodNotAllowed, RouteNotFound, VendError

ROUTES: dict[str, tuple[str, ...]] = {
    "/api/session": ("POST",),
    "/api/call": ("POST",),
    "/api/warm": ("GET",),
}
# Paths with a parameter: their pattern, and the methods they accept.
PATTERNS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"/api/call/[^/]+"), ("GET", "DELETE")),
)


def refusal_for(path: str, method: str) -> VendError:
    """The error for a request no route matched: 405 on a path we serve, 404 anywhere else.

    A parameterised path with an allowed method that still did not match holds an id the router
    cannot read (a quote, a non-ASCII character…): no call has such an id, so it is not found.
    """
    methods = ROUTES.get(path)
    if methods is None:
        methods = next((allowed for pattern, allowed in PATTERNS if pattern.fullmatch(path)), None)
        if methods is not None and method.upper() in methods:
            return CallNotFound("call_id_unroutable")
    if methods is None:
        return RouteNotFound()
    return MethodNotAllowed(methods)


def has_control_characters(path: str) -> bool:
    """A path with a control character is no path of ours (the router's `$` would still match
    `/api/session\n`, where the 404/405 logic would not)."""
    return any(ord(c) < 32 or ord(c) == 127 for c in path)
