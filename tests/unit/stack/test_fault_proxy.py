"""The fault proxy forwards, resets what is open when it goes down, black-holes or refuses new connections,
delivers what it held once it is back, and follows HTTP/2 requests to start an outage at the right moment."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from fakes.fault_proxy import FaultProxy
from fakes.h2_frames import END_STREAM, PREFACE, FrameReader

GUARD_S = 5.0


RECEIVED = bytearray()  # everything the echo server was sent, for the test that checks what got through


class _Echo(socketserver.BaseRequestHandler):
    """Sends back what it gets, except the HTTP/2 client preface (a server never sends one)."""

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError):
            while data := self.request.recv(65536):
                RECEIVED.extend(data)
                self.request.sendall(data.removeprefix(PREFACE))


@pytest.fixture
def echo() -> Iterator[str]:
    RECEIVED.clear()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(echo: str) -> Iterator[FaultProxy]:
    with FaultProxy(echo, lifetime_s=60) as running:
        yield running


def _connect(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=GUARD_S)


def _frame(kind: int, stream: int, payload: bytes = b"", flags: int = 0) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def test_bytes_go_through_both_ways(proxy: FaultProxy) -> None:
    with _connect(proxy) as client:
        client.sendall(b"hello")
        assert client.recv(5) == b"hello"


def test_going_down_resets_open_connections_and_black_holes_new_ones_until_it_is_back(proxy: FaultProxy) -> None:
    with _connect(proxy) as before:
        before.sendall(b"x")
        assert before.recv(1) == b"x"
        proxy.go_down(30)
        with pytest.raises(ConnectionResetError):
            before.recv(1)
        with _connect(proxy) as during:  # accepted, but nothing answers
            during.settimeout(0.3)
            during.sendall(b"held")
            with pytest.raises(TimeoutError):
                during.recv(4)
            proxy.come_back()
            during.settimeout(GUARD_S)
            assert during.recv(4) == b"held"  # delivered once the path heals
    assert proxy.report()["outages"][0]["reset_connections"] == 1
    assert proxy.report()["outages"][0]["held_connections"] == 1


def test_refuse_mode_refuses_new_connections_and_listens_again_on_the_same_port(proxy: FaultProxy) -> None:
    proxy.go_down(30, mode="refuse")
    with pytest.raises(ConnectionRefusedError):
        _connect(proxy)
    proxy.come_back()
    assert proxy.wait_up(GUARD_S)
    with _connect(proxy) as client:
        client.sendall(b"z")
        assert client.recv(1) == b"z"


def test_an_outage_ends_by_itself_after_its_seconds(proxy: FaultProxy) -> None:
    proxy.go_down(0.3)

    assert proxy.down
    assert proxy.wait_up(GUARD_S)
    assert 0.25 <= proxy.report()["outages"][0]["lasted_s"] < GUARD_S


def test_an_outage_armed_after_n_requests_starts_as_the_next_request_is_sent_and_cuts_it_off(
        proxy: FaultProxy) -> None:
    proxy.go_down(30, after_requests=2)
    with _connect(proxy) as client:
        first = PREFACE + _frame(4, 0) + _frame(1, 1, b"h") + _frame(0, 1, b"data")
        client.sendall(first)
        assert client.recv(len(first) - len(PREFACE), socket.MSG_WAITALL) == first[len(PREFACE):]
        assert not proxy.down
        passed = _frame(1, 3, b"h") + _frame(0, 3, b"more")
        client.sendall(passed + _frame(1, 5, b"cut") + _frame(0, 5, b"lost"))
        assert proxy.wait_down(GUARD_S)
        with pytest.raises(ConnectionResetError):  # the answer to the request that got through is lost, too
            client.recv(len(passed), socket.MSG_WAITALL)
    # the echo server's thread may still be taking in the second request as the client sees the cut
    deadline = time.monotonic() + GUARD_S
    while len(RECEIVED) < len(first + passed) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # and anything the proxy let through after it would have arrived by now
    assert bytes(RECEIVED) == first + passed  # the second request reached the server; the third never did
    assert proxy.report()["requests"] == 2
    assert proxy.report()["outages"][0]["requests_before"] == 2


def test_an_outage_can_wait_until_enough_requests_are_unanswered_so_that_it_strands_them(
        proxy: FaultProxy) -> None:
    with _connect(proxy) as client:
        answer = _frame(1, 1, b"h", flags=END_STREAM)  # the echo sends it back: an answer that ends stream 1
        client.sendall(PREFACE + answer)
        assert client.recv(len(answer), socket.MSG_WAITALL) == answer
        proxy.go_down(30, after_requests=0, unanswered=1)
        pending = _frame(1, 3, b"h")  # echoed without END_STREAM: still waiting for its answer
        client.sendall(pending)
        assert client.recv(len(pending), socket.MSG_WAITALL) == pending
        assert not proxy.down  # nothing was unanswered when request 3 went out
        client.sendall(_frame(1, 5, b"h"))
        assert proxy.wait_down(GUARD_S)
    assert proxy.report()["outages"][0]["unanswered"] == 1
    assert proxy.report()["requests"] == 2


def test_the_frame_reader_finds_every_frame_header_across_split_reads() -> None:
    reader = FrameReader(client=True)
    stream = PREFACE + _frame(4, 0, b"s" * 6) + _frame(1, 1, b"h" * 300) + _frame(9, 1, b"c") + _frame(1, 1, b"t")
    third = len(stream)
    stream += _frame(1, 3) + _frame(0, 3, b"d" * 70000, flags=END_STREAM)

    frames = [(i + f.offset, f.kind, f.stream, f.ends_stream)
              for i in range(0, len(stream), 7) for f in reader.feed(stream[i:i + 7])]

    assert [(kind, sid, ends) for _, kind, sid, ends in frames] == [
        (4, 0, False), (1, 1, False), (9, 1, False), (1, 1, False), (1, 3, False), (0, 3, True)]
    assert frames[4][0] == third


def test_anything_but_http2_is_forwarded_and_not_counted() -> None:
    reader = FrameReader(client=True)

    assert reader.feed(b"GET / HTTP/1.1\r\n\r\n") == []
    assert reader.off


def test_it_forwards_to_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy("10.0.0.1:8080")


def test_it_stops_by_itself_after_its_lifetime(echo: str) -> None:
    proxy = FaultProxy(echo, lifetime_s=0.2)
    deadline = time.monotonic() + GUARD_S
    while proxy._thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)

    assert not proxy._thread.is_alive()
    with pytest.raises(ConnectionRefusedError):
        _connect(proxy)
