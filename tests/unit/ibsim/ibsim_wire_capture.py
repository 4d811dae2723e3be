"""Bridges between the simulator's encoders/parsers and the real ib_async client code, for round-trip tests."""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

from ib_async import IB
from ib_async.client import Client
from ib_async.decoder import Decoder

from ibsim.protocol import SERVER_VERSION, Field, encode_frame


class RecordingWrapper:
    """Stands where ib_async's Wrapper stands and records every callback the decoder makes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.defaultTimezone = dt.UTC
        self.ib = type("IBStub", (), {"TimezoneTWS": None})()

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any) -> None:
            self.calls.append((name, args))

        return record


def decode(message: list[Field]) -> list[tuple[str, tuple[Any, ...]]]:
    """Frame ``message`` as the simulator does and run it through ib_async's decoder."""
    frame = encode_frame(message)
    (size,) = struct.unpack(">I", frame[:4])
    fields = frame[4 : 4 + size].decode().split("\0")
    fields.pop()  # the client drops the empty field after the last NUL
    wrapper = RecordingWrapper()
    Decoder(wrapper, SERVER_VERSION).interpret(fields)  # type: ignore[arg-type]
    return wrapper.calls


def client_request(send: str, *args: Any) -> list[str]:
    """The fields ib_async's client writes for one request (``send`` is the Client method name)."""
    ib = IB()
    captured: list[bytes] = []
    client = ib.client
    client.connState = Client.CONNECTED
    client._serverVersion = SERVER_VERSION
    client.conn.sendMsg = captured.append  # capture the bytes instead of writing them to a socket
    try:
        getattr(client, send)(*args)
    finally:
        client.connState = Client.DISCONNECTED
        client.disconnect = lambda: None  # nothing to close: keeps IB.__del__ quiet
        ib.disconnect = lambda: None
    [frame] = captured
    fields = frame[4:].decode().split("\0")
    fields.pop()
    return fields
