"""Make aioice gather 127.0.0.1 host candidates.

aioice skips 127.0.0.1 when it gathers host candidates, so in a loopback-only network
namespace an aiortc peer offers nothing and ICE never completes. The stand-in binds
loopback only, so every aiortc peer in this process gathers exactly 127.0.0.1.
"""

from __future__ import annotations

import aioice.ice


def _loopback_only(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else []


def gather_loopback_candidates() -> None:
    """Idempotent; affects every aiortc peer in this process (test clients included, on purpose)."""
    aioice.ice.get_host_addresses = _loopback_only
