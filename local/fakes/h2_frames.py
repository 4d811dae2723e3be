"""Just enough HTTP/2 framing to follow the requests on a prior-knowledge (h2c, e.g. gRPC) connection.

``FrameReader`` reads frame headers out of one direction of a connection as it streams past (payloads are skipped,
never buffered whole) and says where in each chunk every frame starts, so that the fault proxy can cut a chunk
right before a given request, and tell which requests are still waiting for their answer. Anything on the client's
side that does not start with the HTTP/2 preface turns the reader ``off``.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM = 0x0, 0x1, 0x3
END_STREAM = 0x1
FRAME_HEADER = 9


@dataclass(frozen=True)
class Frame:
    """One frame header: where it starts in the chunk fed (negative: in an earlier chunk), type, flags, stream."""

    offset: int
    kind: int
    flags: int
    stream: int

    @property
    def ends_stream(self) -> bool:
        """The sender is done with this stream (END_STREAM on DATA/HEADERS, or RST_STREAM)."""
        return self.kind == RST_STREAM or (self.kind in (DATA, HEADERS) and bool(self.flags & END_STREAM))


class FrameReader:
    """Frame headers of one direction: ``client=True`` for what the client sends (it starts with the preface)."""

    def __init__(self, *, client: bool) -> None:
        self._buffer = bytearray()
        self._consumed = 0  # bytes parsed so far (the buffer starts there)
        self._skip = 0
        self._preface_seen = not client
        self.off = False

    def feed(self, data: bytes) -> list[Frame]:
        """Parse the next bytes; every frame whose header they complete."""
        if self.off:
            return []
        chunk_start = self._consumed + len(self._buffer)
        self._buffer += data
        frames: list[Frame] = []
        while True:
            if self._skip:
                dropped = min(self._skip, len(self._buffer))
                self._drop(dropped)
                self._skip -= dropped
                if self._skip:
                    return frames
            if not self._preface_seen:
                if len(self._buffer) < len(PREFACE):
                    self.off = not PREFACE.startswith(bytes(self._buffer))
                    return frames
                if self._buffer[: len(PREFACE)] != PREFACE:
                    self.off = True
                    return frames
                self._drop(len(PREFACE))
                self._preface_seen = True
            if len(self._buffer) < FRAME_HEADER:
                return frames
            head = self._buffer[:FRAME_HEADER]
            frames.append(Frame(offset=self._consumed - chunk_start, kind=head[3], flags=head[4],
                                stream=int.from_bytes(head[5:9], "big") & 0x7FFFFFFF))
            self._drop(FRAME_HEADER)
            self._skip = int.from_bytes(head[0:3], "big")

    def _drop(self, count: int) -> None:
        del self._buffer[:count]
        self._consumed += count
