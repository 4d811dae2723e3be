#!/usr/bin/env python3
"""Health probe of one IB Gateway: complete the TWS API handshake or report unhealthy.

An open port alone proves nothing (a gateway waiting for 2FA accepts connections and never answers), so the probe
connects, negotiates the server version, sends startApi and waits for both managedAccounts and nextValidId within a
timeout. Standard library only: it runs with the VM's system python3, independent of the executor's venv.

Prints one JSON line for Cloud Logging (component "healthprobe", healthy, gateway, accounts, elapsed_s) and exits
0 when healthy, 1 when not, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import sys
import time
from dataclasses import dataclass, field

CLIENT_VERSIONS = "v157..176"
START_API = 71
NEXT_VALID_ID = 9
MANAGED_ACCOUNTS = 15
ERROR = 4
HEADER = struct.Struct(">I")


class ProbeError(Exception):
    """The gateway did not complete the handshake."""


@dataclass
class Handshake:
    """What the gateway told the probe."""

    server_version: int = 0
    accounts: list[str] = field(default_factory=list)
    next_valid_id: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Both messages a client needs before it may trade have arrived."""
        return bool(self.accounts) and self.next_valid_id is not None


def frame(fields: list[str]) -> bytes:
    """One length-prefixed message of NUL-terminated fields."""
    body = "".join(f + "\0" for f in fields).encode()
    return HEADER.pack(len(body)) + body


class Connection:
    """A socket that reads whole TWS frames before a deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buffer = b""

    def _recv_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise ProbeError("timed out waiting for the gateway")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError as err:
                raise ProbeError("timed out waiting for the gateway") from err
            if not chunk:
                raise ProbeError("the gateway closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_fields(self) -> list[str]:
        """The fields of the next message."""
        (size,) = HEADER.unpack(self._recv_exact(HEADER.size))
        fields = self._recv_exact(size).decode(errors="replace").split("\0")
        return fields[:-1] if fields and fields[-1] == "" else fields


def handshake(host: str, port: int, client_id: int, timeout_s: float) -> Handshake:
    """Connect, negotiate, startApi, then wait for managedAccounts and nextValidId; raise ProbeError if not."""
    deadline = time.monotonic() + timeout_s
    result = Handshake()
    try:
        sock = socket.create_connection((host, port), timeout=timeout_s)
    except OSError as err:
        raise ProbeError(f"cannot connect: {err}") from err
    with sock:
        conn = Connection(sock, deadline)
        versions = CLIENT_VERSIONS.encode()
        sock.sendall(b"API\0" + HEADER.pack(len(versions)) + versions)
        first = conn.read_fields()
        if not first or not first[0].isdigit():
            raise ProbeError(f"unexpected greeting {first!r}")
        result.server_version = int(first[0])
        sock.sendall(frame([str(START_API), "2", str(client_id), ""]))
        while not result.complete:
            fields = conn.read_fields()
            if not fields:
                continue
            if fields[0] == str(MANAGED_ACCOUNTS) and len(fields) >= 3:
                result.accounts = [a for a in fields[2].split(",") if a]
            elif fields[0] == str(NEXT_VALID_ID) and len(fields) >= 3:
                result.next_valid_id = int(fields[2])
            elif fields[0] == str(ERROR):
                result.errors.append(" ".join(fields[2:]))
    return result


def main(argv: list[str] | None = None) -> int:
    """Probe once; print the verdict as JSON; exit 0 healthy, 1 unhealthy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="gateway API host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, required=True, help="gateway API port (4001 live, 4002 paper)")
    parser.add_argument("--gateway", default="", help="gateway id, for the log line")
    parser.add_argument("--client-id", type=int, default=999, help="API client id, distinct from the executor's")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds for the whole handshake")
    args = parser.parse_args(argv)
    started = time.monotonic()
    entry: dict[str, object] = {"component": "healthprobe", "gateway": args.gateway, "port": args.port}
    try:
        result = handshake(args.host, args.port, args.client_id, args.timeout)
    except ProbeError as err:
        entry.update(severity="ERROR", healthy=False, message=f"gateway unhealthy: {err}")
    else:
        entry.update(
            severity="INFO", healthy=True, message="gateway healthy", accounts=len(result.accounts),
            server_version=result.server_version, next_valid_id=result.next_valid_id,
        )
    entry["elapsed_s"] = round(time.monotonic() - started, 3)
    print(json.dumps(entry), flush=True)
    return 0 if entry["healthy"] else 1


if __name__ == "__main__":
    sys.exit(main())
