"""The stand-in's hold on its dependencies: public APIs only, and one pinned hook that must still exist.

aiohttp, aiortc and aioice change their internals between releases. The local stack uses none of
them except `aioice.ice.get_host_addresses` (no public setting exists for the addresses aioice
gathers on), and that use is scoped to the peers that ask for it.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection

from local.openai_standin import loopback_ice
from local.openai_standin.loopback_ice import loopback_candidates

LOCAL = Path(__file__).resolve().parents[2] / "local"
_CANDIDATE_HOST = re.compile(r"^a=candidate:\S+ \d+ \S+ \d+ (\S+) ", re.MULTILINE)
_ATTRIBUTE_CALLS = {"getattr", "setattr", "hasattr", "delattr"}


def _root(node: ast.expr) -> ast.expr:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node


def _private_uses(path: Path) -> set[str]:
    """`obj._name` on anything but self/cls, getattr(obj, "_name"), and patches of imported modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {
        alias.asname or alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }

    def is_module(node: ast.expr) -> bool:
        root = _root(node)
        return isinstance(root, ast.Name) and root.id in modules

    found: set[str] = set()
    where = path.relative_to(LOCAL.parent).as_posix()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}):
                found.add(f"{where}: {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _ATTRIBUTE_CALLS
        ):
            name = node.args[1] if len(node.args) > 1 else None
            private = isinstance(name, ast.Constant) and str(name.value).startswith("_")
            dunder = isinstance(name, ast.Constant) and str(name.value).startswith("__")
            patch = node.func.id in {"setattr", "delattr"} and is_module(node.args[0])
            if (private and not dunder) or patch:
                found.add(f"{where}: {ast.unparse(node)}")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and is_module(target):
                    found.add(f"{where}: {ast.unparse(target)} = ...")
    return found


# The one hook with no public replacement (see loopback_ice.py); aioice is pinned for it.
ALLOWED = {"local/openai_standin/loopback_ice.py: setattr(aioice.ice, HOOK, get_host_addresses)"}


def test_the_local_stack_touches_no_private_attribute_and_patches_no_module() -> None:
    found = set().union(*(_private_uses(path) for path in sorted(LOCAL.rglob("*.py"))))

    assert found - ALLOWED == set(), "private internals or monkeypatches of dependencies:\n" + "\n".join(
        sorted(found - ALLOWED)
    )
    assert found == ALLOWED  # the allowance goes when the hook does


def test_aioice_still_gathers_through_the_hook_the_standin_wraps() -> None:
    # If this fails, aioice changed: pin aioice==0.13.0 or port local/openai_standin/loopback_ice.py.
    hook = getattr(aioice.ice, loopback_ice.HOOK, None)
    assert hook is not None, f"aioice.ice.{loopback_ice.HOOK} is gone"
    assert list(inspect.signature(hook).parameters) == ["use_ipv4", "use_ipv6"]
    gather = inspect.getsource(aioice.ice.Connection.gather_candidates)
    assert f"{loopback_ice.HOOK}(" in gather, "aioice no longer asks get_host_addresses for its addresses"


async def _offered_hosts(*, loopback: bool) -> set[str]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.createDataChannel("oai-events")
        if loopback:
            with loopback_candidates():
                await pc.setLocalDescription(await pc.createOffer())
        else:
            await pc.setLocalDescription(await pc.createOffer())
        return set(_CANDIDATE_HOST.findall(pc.localDescription.sdp))
    finally:
        await pc.close()


async def test_only_peers_that_ask_offer_loopback_and_the_rest_gather_as_aioice_does() -> None:
    asked = await _offered_hosts(loopback=True)
    others = await _offered_hosts(loopback=False)

    assert asked == {"127.0.0.1"}
    assert "127.0.0.1" not in others
    assert others <= set(aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True))
