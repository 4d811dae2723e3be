"""TWS API framing: 4-byte big-endian length, then NUL-terminated UTF-8 fields; field 0 is the message id."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from decimal import Decimal

SERVER_VERSION = 176
MIN_CLIENT_VERSION = 157
# The server sends an unset double as this literal (clients send unset doubles as empty fields).
UNSET_DOUBLE = 1.7976931348623157e308
UNSET_DOUBLE_TEXT = "1.7976931348623157E308"
UNSET_INTEGER = 2**31 - 1
HEADER = struct.Struct(">I")
API_PREFIX = b"API\0"

Field = str | int | float | bool | Decimal | None


def format_field(value: Field) -> str:
    """One field as the server writes it (bools as 0/1, unset double as IB's max double, None as empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value == UNSET_DOUBLE:
            return UNSET_DOUBLE_TEXT
        return repr(value)
    return str(value)


def encode_frame(fields: Iterable[Field]) -> bytes:
    """A complete length-prefixed message."""
    body = "".join(format_field(f) + "\0" for f in fields).encode()
    return HEADER.pack(len(body)) + body


def split_fields(body: bytes) -> list[str]:
    """The fields of one message body (the trailing NUL yields no extra field)."""
    fields = body.decode(errors="backslashreplace").split("\0")
    if fields and fields[-1] == "":
        fields.pop()
    return fields


def parse_version_range(text: str) -> tuple[int, int]:
    """Parse the client's ``v157..178`` (optionally followed by connect options)."""
    spec = text.split(" ", 1)[0].lstrip("v")
    low, _, high = spec.partition("..")
    return int(low), int(high or low)


class FrameBuffer:
    """Accumulates socket bytes and yields complete message bodies."""

    def __init__(self) -> None:
        self._data = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return every complete frame body now available."""
        self._data += data
        bodies: list[bytes] = []
        while len(self._data) >= HEADER.size:
            (size,) = HEADER.unpack_from(self._data)
            end = HEADER.size + size
            if len(self._data) < end:
                break
            bodies.append(bytes(self._data[HEADER.size : end]))
            del self._data[:end]
        return bodies

    def pending(self) -> int:
        """Bytes held that do not yet form a frame."""
        return len(self._data)


class FieldReader:
    """Reads request fields in order, with IB's conventions for empty values."""

    def __init__(self, fields: Sequence[str], start: int = 1) -> None:
        self._fields = fields
        self._pos = start

    def text(self) -> str:
        """Next field as text (missing trailing fields read as empty)."""
        value = self._fields[self._pos] if self._pos < len(self._fields) else ""
        self._pos += 1
        return value

    def integer(self, default: int = 0) -> int:
        """Next field as int; empty is ``default``."""
        value = self.text()
        return int(float(value)) if value else default

    def number(self, default: float = 0.0) -> float:
        """Next field as float; empty is ``default`` (clients send unset doubles as empty)."""
        value = self.text()
        if not value:
            return default
        if value == "Infinite":
            return float("inf")
        return float(value)

    def flag(self) -> bool:
        """Next field as a bool (0/1, empty is False)."""
        value = self.text()
        return bool(int(value)) if value else False

    def skip(self, count: int) -> None:
        """Skip ``count`` fields."""
        self._pos += count
