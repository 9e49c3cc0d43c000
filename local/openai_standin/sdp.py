"""The few SDP edits the stand-in makes around aiortc."""

from __future__ import annotations

import re
from collections.abc import Callable

_CANDIDATE = re.compile(r"^a=candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)(.*)$")


class InvalidSdp(ValueError):
    pass


def check_offer(sdp: str) -> None:
    """Reject what is plainly not a WebRTC offer before aiortc sees it."""
    lines = sdp.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "v=0":
        raise InvalidSdp("Invalid SDP: the offer must start with 'v=0'.")
    if not any(line.startswith("m=") for line in lines):
        raise InvalidSdp("Invalid SDP: the offer has no media sections.")
    for attribute, what in (
        ("a=ice-ufrag:", "ICE username fragment"),
        ("a=ice-pwd:", "ICE password"),
        ("a=fingerprint:", "DTLS fingerprint"),
    ):
        if not any(line.startswith(attribute) and len(line) > len(attribute) for line in lines):
            raise InvalidSdp(f"Invalid SDP: the offer has no {what} ({attribute}).")
    # An offerer must leave the DTLS role open (RFC 8842 section 5.3): anything else is an answer.
    roles = {line.strip()[len("a=setup:") :] for line in lines if line.startswith("a=setup:")}
    if roles - {"actpass"}:
        raise InvalidSdp("Invalid SDP: this is not an offer (an offer has a=setup:actpass).")


def without_candidates(sdp: str) -> str:
    """The offer minus its candidates and end-of-candidates.

    The peer must only ever reach the browser through the relay; with no remote candidates
    it learns the browser's relayed address from the browser's own connectivity checks
    (peer-reflexive), as OpenAI's server does with a browser that sends no candidates.
    """
    kept = [
        line
        for line in sdp.split("\r\n")
        if not line.startswith("a=candidate:") and line != "a=end-of-candidates"
    ]
    return "\r\n".join(kept)


def answer_candidate_ports(sdp: str) -> set[int]:
    ports: set[int] = set()
    for line in sdp.split("\r\n"):
        match = _CANDIDATE.match(line)
        if match and match.group(3).lower() == "udp":
            ports.add(int(match.group(6)))
    return ports


def rewrite_ports(sdp: str, port_for: Callable[[int], int]) -> str:
    """Point the answer's candidates (and m=/c= defaults) at the relay's ports."""
    out: list[str] = []
    for line in sdp.split("\r\n"):
        match = _CANDIDATE.match(line)
        parts = line.split(" ")
        if match and match.group(3).lower() == "udp":
            port = port_for(int(match.group(6)))
            out.append(
                f"a=candidate:{match.group(1)} {match.group(2)} {match.group(3)} {match.group(4)} "
                f"127.0.0.1 {port} typ {match.group(7)}{match.group(8)}"
            )
        elif line.startswith("m=") and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) > 9:
            # (9 is the "discard" placeholder port; it stays.)
            parts[1] = str(port_for(int(parts[1])))
            out.append(" ".join(parts))
        else:
            out.append(line)
    return "\r\n".join(out)
