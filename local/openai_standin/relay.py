"""A per-call UDP relay between the browser and the stand-in's aiortc socket.

The SDP answer advertises the relay's port instead of aiortc's, so every ICE, DTLS, SCTP and
RTP packet of the call passes through here. That gives us a wire to delay (`media_delay_ms`,
one way, each direction) and to cut (`blackhole`, like a dead network: ICE consent then fails).

Like a symmetric NAT, each browser address gets its own inner socket towards aiortc; aiortc
sees that inner socket as a peer-reflexive candidate and answers it, and we hand the answer
back to the browser from the port it sent to.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

_MAX_DATAGRAM = 65535
Address = tuple[str, int]


@dataclass
class RelayCounters:
    to_peer: int = 0
    to_browser: int = 0
    dropped: int = 0
    last_to_browser_at: float | None = None
    last_to_peer_at: float | None = None

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "to_peer": self.to_peer,
            "to_browser": self.to_browser,
            "dropped": self.dropped,
            "last_to_browser_at": self.last_to_browser_at,
            "last_to_peer_at": self.last_to_peer_at,
        }


@dataclass(order=True)
class _Packet:
    due: float
    data: bytes = field(compare=False)
    sock: socket.socket = field(compare=False)
    addr: Address = field(compare=False)


class _DelayLine:
    """Sends packets `delay` after they arrived, in arrival order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: collections.deque[_Packet] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None

    def push(self, data: bytes, sock: socket.socket, addr: Address, delay: float) -> None:
        if delay <= 0 and not self._queue:
            _send(sock, data, addr)
            return
        self._queue.append(_Packet(self._loop.time() + delay, data, sock, addr))
        if self._timer is None:
            self._timer = self._loop.call_at(self._queue[0].due, self._drain)

    def _drain(self) -> None:
        self._timer = None
        now = self._loop.time()
        while self._queue and self._queue[0].due <= now:
            packet = self._queue.popleft()
            _send(packet.sock, packet.data, packet.addr)
        if self._queue:
            self._timer = self._loop.call_at(self._queue[0].due, self._drain)

    def clear(self) -> int:
        dropped = len(self._queue)
        self._queue.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return dropped


def _send(sock: socket.socket, data: bytes, addr: Address) -> None:
    # A full buffer or a closed port loses the datagram, as UDP would.
    with contextlib.suppress(OSError):
        sock.sendto(data, addr)


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


class UdpRelay:
    """All relayed ports of one call. Sockets are plain non-blocking UDP sockets watched with
    `add_reader`, so a new browser address gets its inner socket synchronously."""

    def __init__(self, delay_ms: Callable[[], int]) -> None:
        self._loop = asyncio.get_running_loop()
        self._delay_ms = delay_ms
        self._sockets: list[socket.socket] = []
        self._port_map: dict[int, int] = {}
        self._routes: dict[socket.socket, tuple[socket.socket, Address]] = {}
        self._to_peer = _DelayLine(self._loop)
        self._to_browser = _DelayLine(self._loop)
        self.counters = RelayCounters()
        self.blackholed = False
        self._closed = False

    def relay_port(self, peer_port: int) -> int:
        """The relay port that forwards to aiortc's `peer_port` (created on first use)."""
        if peer_port not in self._port_map:
            outer = self._watch(_bound_socket())
            inner_by_browser: dict[Address, socket.socket] = {}
            self._loop.add_reader(outer.fileno(), self._from_browser, outer, peer_port, inner_by_browser)
            self._port_map[peer_port] = outer.getsockname()[1]
        return self._port_map[peer_port]

    def port_for(self, port: int) -> int:
        return self._port_map.get(port, port)

    def blackhole(self) -> None:
        self.blackholed = True
        self.counters.dropped += self._to_peer.clear() + self._to_browser.clear()

    def close(self) -> None:
        """Forward what the peer sent last (its DTLS close and SCTP abort, so the browser learns
        the call ended at once), then close every socket."""
        if self._closed:
            return
        self._closed = True
        self._to_peer.clear()
        self._to_browser.clear()
        if not self.blackholed:
            for inner, (outer, browser) in self._routes.items():
                for data, _ in _drain_socket(inner):
                    _send(outer, data, browser)
        for sock in self._sockets:
            self._loop.remove_reader(sock.fileno())
            sock.close()

    def _watch(self, sock: socket.socket) -> socket.socket:
        self._sockets.append(sock)
        return sock

    def _delay(self) -> float:
        return max(self._delay_ms(), 0) / 1000.0

    def _from_browser(
        self, outer: socket.socket, peer_port: int, inner_by_browser: dict[Address, socket.socket]
    ) -> None:
        for data, browser in _drain_socket(outer):
            if self.blackholed:
                self.counters.dropped += 1
                continue
            inner = inner_by_browser.get(browser)
            if inner is None:
                inner = self._watch(_bound_socket())
                inner_by_browser[browser] = inner
                self._routes[inner] = (outer, browser)
                self._loop.add_reader(inner.fileno(), self._from_peer, inner, outer, browser)
            self.counters.to_peer += 1
            self.counters.last_to_peer_at = self._loop.time()
            self._to_peer.push(data, inner, ("127.0.0.1", peer_port), self._delay())

    def _from_peer(self, inner: socket.socket, outer: socket.socket, browser: Address) -> None:
        for data, _ in _drain_socket(inner):
            if self.blackholed:
                self.counters.dropped += 1
                continue
            self.counters.to_browser += 1
            self.counters.last_to_browser_at = self._loop.time()
            self._to_browser.push(data, outer, browser, self._delay())


def _drain_socket(sock: socket.socket) -> list[tuple[bytes, Address]]:
    received: list[tuple[bytes, Address]] = []
    while True:
        try:
            data, addr = sock.recvfrom(_MAX_DATAGRAM)
        except (BlockingIOError, InterruptedError):
            return received
        except OSError:
            return received  # e.g. ICMP port unreachable surfaced on the socket
        received.append((data, (addr[0], addr[1])))
