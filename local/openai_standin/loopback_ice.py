"""Let an aiortc peer gather a 127.0.0.1 host candidate, for the peers that ask for it.

aioice skips 127.0.0.1 when it gathers host candidates, so in a loopback-only network namespace
an aiortc peer offers nothing and ICE never completes; and the stand-in's relay reaches its peer
on 127.0.0.1 only. Neither aiortc (RTCConfiguration) nor aioice has a public setting for the
addresses to gather on, so this wraps the one function aioice asks, `aioice.ice.get_host_addresses`
(aioice 0.13.0, pinned for that reason). The wrapper answers 127.0.0.1 only inside
`loopback_candidates()`, a context variable that asyncio copies into the tasks aiortc starts to
gather; every other peer in the process gathers exactly what aioice would.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
from collections.abc import Callable, Iterator

import aioice.ice

HOOK = "get_host_addresses"
_LOOPBACK = contextvars.ContextVar("standin_loopback_candidates", default=False)


class IceHookMissing(RuntimeError):
    """aioice no longer gathers through the function this module wraps."""


def _original() -> Callable[[bool, bool], list[str]]:
    hook = getattr(aioice.ice, HOOK, None)
    if hook is None or list(inspect.signature(hook).parameters) != ["use_ipv4", "use_ipv6"]:
        raise IceHookMissing(
            f"aioice.ice.{HOOK}(use_ipv4, use_ipv6) is gone or has changed (aioice "
            f"{getattr(aioice, '__version__', '?')}); the stand-in needs it to offer 127.0.0.1. "
            "Pin aioice==0.13.0 or port local/openai_standin/loopback_ice.py."
        )
    return getattr(hook, "__wrapped__", hook)  # type: ignore[no-any-return]


def _install() -> None:
    original = _original()

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        if _LOOPBACK.get():
            return ["127.0.0.1"] if use_ipv4 else []
        return original(use_ipv4, use_ipv6)

    get_host_addresses.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(aioice.ice, HOOK, get_host_addresses)


@contextlib.contextmanager
def loopback_candidates() -> Iterator[None]:
    """Peers that gather inside this block (aiortc gathers in `setLocalDescription`) offer 127.0.0.1."""
    _install()  # idempotent: the wrapper wraps the original, never itself
    token = _LOOPBACK.set(True)
    try:
        yield
    finally:
        _LOOPBACK.reset(token)
