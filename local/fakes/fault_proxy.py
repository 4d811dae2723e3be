"""A TCP fault proxy on 127.0.0.1: forwards to one loopback upstream and has an outage on command.

It stands in front of the Firestore emulator (gRPC over HTTP/2) so that one process, the executor under test,
loses Firestore while the test itself keeps reading and writing the emulator directly:

    with FaultProxy("127.0.0.1:8080") as proxy:          # its own thread and event loop; stopped on exit
        env = {"FIRESTORE_EMULATOR_HOST": proxy.address}
        proxy.go_down(30)                               # an outage now, for 30 real seconds
        proxy.go_down(30, after_requests=20)            # ... as the 21st HTTP/2 request (gRPC call) from now is sent
        proxy.go_down(30, after_requests=20, unanswered=5)  # ... and 5 calls are waiting for their answers
        proxy.wait_down(10); proxy.wait_up(40)          # block the caller until it happened (False: it did not)
        proxy.come_back()                               # end the outage early
        proxy.report()                                  # what it saw, for failure messages

What an outage looks like (``mode``):
- ``blackhole`` (the default): every open connection breaks at once on the client's side (an RST), while the
  server's side finishes what reached it and answers into the void; new connections are accepted but never
  answered: what the client sends is kept until the outage ends and then delivered (a healed network path),
  unless the client gave up and closed meanwhile (then it is dropped). This is what a Firestore outage looks
  like from a VM. Firestore sits behind Google's front ends, which do not refuse TCP connections on 443; in an
  incident or a network partition calls hang until their deadline and then fail UNAVAILABLE /
  DEADLINE_EXCEEDED, so each call costs its whole timeout instead of failing fast, and the client's retries run
  into the same wall. Calls in flight when it starts were applied by the server with their answers lost: the
  real outage's ambiguity, where a retried ``create()`` meets ``AlreadyExists``.
- ``refuse``: open connections are reset and new ones refused (the listening socket closes), as when a local
  server is stopped: fast failures, which a client's retries absorb easily; for contrast.

Bounded: it listens on and forwards to loopback only, an outage lasts at most ``MAX_OUTAGE_S``, and the proxy
stops by itself after ``lifetime_s`` if nobody calls ``close()``; its thread is a daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from fakes.h2_frames import HEADERS, RST_STREAM, Frame, FrameReader
from fakes.outages import MAX_OUTAGE_S, Mode, Outage, Trigger

log = logging.getLogger("fakes.fault_proxy")

HOST = "127.0.0.1"
CHUNK = 65536
CONTROL_TIMEOUT_S = 5.0
UPSTREAM_GRACE_S = 2.0  # how long a cut-off connection's server side may go on answering into the void


@dataclass(eq=False)  # identity: each pair is one connection
class _Pair:
    """A client connection and, once forwarding, its upstream connection."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    cut_off: bool = False  # by an outage: the server still gets to finish what it was sent
    last_stream: int = 0
    waiting: set[int] = field(default_factory=set)  # streams the client opened that have no complete answer yet

    def reset(self) -> None:
        """The client's connection breaks now; the server side is left to finish (see ``_serve``)."""
        self.cut_off = True
        _reset(self.client)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST, as a dropped connection arrives at the client, not a polite FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _loopback(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or HOST
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the fault proxy forwards to loopback only, not {address!r}")
    return host, int(port)


class FaultProxy:
    """A forwarder on ``127.0.0.1:<port>`` to ``upstream`` (``host:port`` on loopback) with outages on command."""

    def __init__(self, upstream: str, *, port: int = 0, lifetime_s: float = 600.0) -> None:
        self.upstream = _loopback(upstream)
        self.port = port
        self.lifetime_s = lifetime_s
        self.requests = 0
        self.connections = 0
        self.outages: list[Outage] = []
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._pairs: set[_Pair] = set()
        self._held: set[_Pair] = set()
        self._healed = asyncio.Event()
        self._trigger: Trigger | None = None
        self._heal_handle: asyncio.TimerHandle | None = None
        self._closed = threading.Event()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="fault-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(CONTROL_TIMEOUT_S) or self._server is None:
            raise RuntimeError("the fault proxy did not start")

    # ---- control (any thread) --------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``: what to put in the proxied client's ``*_EMULATOR_HOST``."""
        return f"{HOST}:{self.port}"

    @property
    def down(self) -> bool:
        """True during an outage."""
        return bool(self.outages) and self.outages[-1].ended_at is None

    def go_down(self, seconds: float, *, after_requests: int | None = None, unanswered: int = 0,
                mode: Mode = "blackhole") -> None:
        """An outage of ``seconds`` (real, at most ``MAX_OUTAGE_S``) now, or once ``after_requests`` more requests
        went through: it starts as the next one is sent, which (and anything after it) never arrives.

        ``unanswered`` also waits until that many requests are waiting for their answer, so that the outage
        strands them (the server applies them, the answers are lost); at most ``PATIENCE_REQUESTS`` more requests.
        """
        if mode not in ("blackhole", "refuse"):
            raise ValueError(f"unknown outage mode {mode!r}")
        seconds = min(float(seconds), MAX_OUTAGE_S)
        self._control(self._arm, seconds, after_requests, unanswered, mode)

    def come_back(self) -> None:
        """End the outage now."""
        self._control(self._come_back)

    def wait_down(self, timeout_s: float) -> bool:
        """Wait until an outage has begun; False if none did within ``timeout_s``."""
        return _poll(lambda: bool(self.outages), timeout_s)

    def wait_up(self, timeout_s: float) -> bool:
        """Wait until no outage is going on; False if one still is after ``timeout_s``."""
        return _poll(lambda: not self.down, timeout_s)

    def report(self) -> dict[str, Any]:
        """What the proxy saw: connections, requests, outages."""
        return {"address": self.address, "upstream": f"{self.upstream[0]}:{self.upstream[1]}",
                "connections": self.connections, "requests": self.requests, "down": self.down,
                "outages": [o.as_dict() for o in self.outages]}

    def close(self) -> None:
        """Reset every connection, stop listening, stop the thread (idempotent)."""
        if not self._closed.is_set() and self._loop.is_running():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._shutdown)
        self._thread.join(CONTROL_TIMEOUT_S)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _control(self, fn: Any, *args: Any) -> None:
        if self._closed.is_set():
            raise RuntimeError("the fault proxy is closed")

        async def call() -> None:
            fn(*args)

        asyncio.run_coroutine_threadsafe(call(), self._loop).result(CONTROL_TIMEOUT_S)

    # ---- the proxy's own loop --------------------------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._listen())
            self._healed.set()
            self._loop.call_later(self.lifetime_s, self._shutdown)
        finally:
            ready.set()
        try:
            self._loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(self._loop) if not t.done()]
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()
            self._closed.set()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, HOST, self.port, reuse_address=True, backlog=256)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._forward(reader, writer)
        except asyncio.CancelledError:
            writer.transport.abort()  # the proxy is stopping; asyncio's stream callback must not see a cancel

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        pair = _Pair(writer)
        early = b""
        if self.down:
            self._held.add(pair)
            self.outages[-1].held_connections += 1
            try:
                kept = await self._hold(reader)
            finally:
                self._held.discard(pair)
            if kept is None:  # the client gave up during the outage: what it sent is never delivered
                writer.transport.abort()
                return
            early = kept
        self._pairs.add(pair)
        try:
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            except OSError:
                _reset(writer)
                return
            pair.upstream = up_writer
            if writer.transport.is_closing():  # reset by an outage that began while connecting
                return
            sent = FrameReader(client=True)
            if early:
                cut = self._admit(pair, sent.feed(early))
                up_writer.write(early if cut is None else early[: max(0, cut)])
                if cut is not None:
                    self._start_armed()
                    return
            pair.tasks = [asyncio.ensure_future(self._pump(reader, up_writer, pair, sent)),
                          asyncio.ensure_future(self._pump(up_reader, writer, pair, FrameReader(client=False)))]
            await asyncio.wait(pair.tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in pair.tasks:
                task.cancel()
            await asyncio.gather(*pair.tasks, return_exceptions=True)
            if pair.cut_off:
                # The server does not see the outage: it finishes what reached it and answers into the void.
                await self._discard(up_reader, UPSTREAM_GRACE_S)
        finally:
            self._pairs.discard(pair)
            for task in pair.tasks:
                task.cancel()
            for one in (writer, pair.upstream):
                if one is not None:
                    one.transport.abort()

    async def _discard(self, reader: asyncio.StreamReader, seconds: float) -> None:
        with contextlib.suppress(TimeoutError, ConnectionError, OSError):
            async with asyncio.timeout(seconds):
                while await reader.read(CHUNK):
                    pass

    async def _hold(self, reader: asyncio.StreamReader) -> bytes | None:
        """Black-holed: keep what the client sends and answer nothing until the outage ends; None if it gives up."""
        kept = bytearray()
        healed = asyncio.ensure_future(self._healed.wait())
        try:
            while not healed.done():
                read = asyncio.ensure_future(reader.read(CHUNK))
                await asyncio.wait([read, healed], return_when=asyncio.FIRST_COMPLETED)
                if not read.done():
                    read.cancel()
                    break
                try:
                    chunk = read.result()
                except (ConnectionError, OSError):
                    return None
                if not chunk:
                    return None
                kept += chunk
        finally:
            healed.cancel()
        return bytes(kept)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pair: _Pair,
                    frames: FrameReader) -> None:
        to_server = writer is pair.upstream
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await reader.read(CHUNK):
                if not to_server:
                    self._answered(pair, frames.feed(chunk))
                    writer.write(chunk)
                    await writer.drain()
                    continue
                cut = self._admit(pair, frames.feed(chunk))
                writer.write(chunk if cut is None else chunk[: max(0, cut)])
                await writer.drain()
                if cut is not None:
                    self._start_armed()
                    return

    def _admit(self, pair: _Pair, frames: list[Frame]) -> int | None:
        """Count the requests that may go through; where to cut the chunk if an armed outage starts in it."""
        for frame in frames:
            if frame.kind == RST_STREAM:
                pair.waiting.discard(frame.stream)
            if frame.kind != HEADERS or frame.stream <= pair.last_stream:
                continue
            if self._trigger is not None and self._trigger.due(self.requests, self._waiting()):
                return frame.offset
            pair.last_stream = frame.stream
            pair.waiting.add(frame.stream)
            self.requests += 1
        return None

    def _answered(self, pair: _Pair, frames: list[Frame]) -> None:
        for frame in frames:
            if frame.ends_stream:
                pair.waiting.discard(frame.stream)

    def _waiting(self) -> int:
        return sum(len(pair.waiting) for pair in self._pairs)

    def _start_armed(self) -> None:
        if self._trigger is not None:
            trigger, self._trigger = self._trigger, None
            self._go_down(trigger.seconds, trigger.mode)

    def _arm(self, seconds: float, after_requests: int | None, unanswered: int, mode: Mode) -> None:
        if after_requests is None:
            self._go_down(seconds, mode)
        else:
            self._trigger = Trigger(self.requests + max(0, after_requests), max(0, unanswered), seconds, mode)

    def _go_down(self, seconds: float, mode: Mode) -> None:
        if self.down:
            return
        self._healed.clear()
        victims = list(self._pairs)
        self.outages.append(Outage(mode, seconds, time.monotonic(), self.requests, self._waiting(), len(victims)))
        for pair in victims:
            pair.reset()
        if mode == "refuse" and self._server is not None:
            self._server.close()
            self._server = None
        self._heal_handle = self._loop.call_later(seconds, self._come_back)
        log.warning("fault proxy down", extra={"seconds": seconds, "mode": mode, "reset": len(victims)})

    def _come_back(self) -> None:
        if not self.down:
            return
        if self._heal_handle is not None:
            self._heal_handle.cancel()
        outage = self.outages[-1]
        if self._server is None:
            self._loop.create_task(self._reopen(outage))
            return
        self._heal(outage)

    async def _reopen(self, outage: Outage) -> None:
        await self._listen()
        self._heal(outage)

    def _heal(self, outage: Outage) -> None:
        outage.ended_at = time.monotonic()
        self._healed.set()
        log.warning("fault proxy up", extra={"lasted_s": round(outage.ended_at - outage.started_at, 2)})

    def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for pair in [*self._pairs, *self._held]:
            pair.reset()
        self._loop.stop()


def _poll(condition: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
