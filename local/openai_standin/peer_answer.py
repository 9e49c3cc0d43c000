"""Answer a browser's SDP offer with an aiortc peer reachable through a per-call UDP relay.

Shared by the Realtime call and the GPT-Live session: both answer the same kind of offer (audio
plus a data channel) the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from .loopback_ice import loopback_candidates
from .relay import UdpRelay
from .sdp import InvalidSdp, answer_candidate_ports, check_offer, rewrite_ports, without_candidates


async def answer_offer(
    pc: RTCPeerConnection, offer_sdp: str, voice: MediaStreamTrack, media_delay_ms: Callable[[], int]
) -> tuple[str, UdpRelay]:
    """The answer SDP (pointing at the relay) and the relay; InvalidSdp for an unusable offer."""
    try:
        check_offer(offer_sdp)
        await pc.setRemoteDescription(RTCSessionDescription(without_candidates(offer_sdp), "offer"))
        if any(t.kind == "audio" for t in pc.getTransceivers()):
            pc.addTrack(voice)
        with loopback_candidates():  # the relay reaches this peer on 127.0.0.1 only
            await pc.setLocalDescription(await pc.createAnswer())
    except InvalidSdp:
        await pc.close()
        raise
    except Exception as exc:
        # aiortc reports a broken or unanswerable offer with whatever exception it hits
        # (ValueError, its own InternalError, even AssertionError): all the caller's fault.
        await pc.close()
        raise InvalidSdp(f"Invalid SDP offer: {exc or type(exc).__name__}") from exc
    answer = pc.localDescription.sdp
    relay = UdpRelay(media_delay_ms)
    for port in answer_candidate_ports(answer):
        relay.relay_port(port)
    return rewrite_ports(answer, relay.port_for), relay
