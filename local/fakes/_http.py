"""The small HTTP plumbing the fakes share: JSON in and out, a threaded server, a command line."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("fakes")


class JsonHandler(BaseHTTPRequestHandler):
    """Base request handler: helpers to read the body and answer JSON; quiet access log."""

    protocol_version = "HTTP/1.1"
    server_version = "SpreadPilotFake/1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    @property
    def path_only(self) -> str:
        """The request path without the query string."""
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        """The query string, every key a list of values."""
        return parse_qs(urlsplit(self.path).query, keep_blank_values=True)

    def read_body(self) -> bytes:
        """The raw request body ('' if none)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def read_json(self) -> Any:
        """The request body parsed as JSON ({} if empty)."""
        body = self.read_body()
        return json.loads(body) if body else {}

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        """Answer ``payload`` as JSON with ``status``."""
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def send_empty(self, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer with no body."""
        self.send_response(status)
        self.send_header("Content-Length", "0")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()


def serve_forever(name: str, make_server: Callable[[str, int], ThreadingHTTPServer]) -> None:
    """Command line of an HTTP fake: ``--host`` and ``--port``; SIGTERM stops it cleanly."""
    parser = argparse.ArgumentParser(prog=f"python -m fakes.{name}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = make_server(args.host, args.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info("%s listening on http://%s:%d", name, args.host, args.port)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
