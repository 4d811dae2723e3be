"""A small static server for the admin web app on the local stack, with the ``config.json`` it reads at start.

``python -m identity.webserve --port P --web-dir web --api-base-url URL --sign-in-url URL``

Files under ``--web-dir`` are served as they are; any other path without a file extension gets ``index.html`` so deep
links (``/followers/{id}``, ``/signals/{id}``, ``/orders/{id}``) open in the single-page app. ``/config.json`` tells
the app where the API and the sign-in endpoint are (in production the same file is deployed beside the app).
"""

from __future__ import annotations

import argparse
import json
import logging
import mimetypes
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

log = logging.getLogger("identity.webserve")
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".html": "text/html",
         ".svg": "image/svg+xml", ".json": "application/json", ".webmanifest": "application/manifest+json"}


@dataclass(frozen=True)
class WebConfig:
    """What ``config.json`` tells the app: the API, and the Firebase project with the local emulators standing in
    for Firebase Auth (the local issuer) and Firestore."""

    api_base_url: str
    sign_in_url: str
    project_id: str = "spreadpilot-local"
    auth_emulator_url: str = ""
    firestore_emulator_host: str = ""
    api_key: str = "local-web-api-key"  # Firebase's web API key is public by design; the local one is a placeholder

    def doc(self) -> dict[str, object]:
        emulators = {"auth": self.auth_emulator_url, "firestore": self.firestore_emulator_host}
        return {"apiBaseUrl": self.api_base_url.rstrip("/"), "signInUrl": self.sign_in_url,
                "firebase": {"apiKey": self.api_key, "projectId": self.project_id,
                             "authDomain": f"{self.project_id}.firebaseapp.com"},
                "emulators": {k: v for k, v in emulators.items() if v}}


def make_handler(web_dir: Path, config: WebConfig) -> type[BaseHTTPRequestHandler]:
    """A handler class serving ``web_dir`` and ``config``."""
    root = web_dir.resolve()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            log.debug(format, *args)

        def _send(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type + ("; charset=utf-8" if "text" in content_type
                                                             or "json" in content_type else ""))
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            if path == "/config.json":
                self._send(200, json.dumps(config.doc()).encode(), "application/json")
                return
            file = (root / path.lstrip("/")).resolve()
            if file.is_relative_to(root) and file.is_file():
                kind = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                self._send(200, file.read_bytes(), kind)
            elif "." not in Path(path).name:
                self._send(200, (root / "index.html").read_bytes(), "text/html")
            else:
                self._send(404, b"not found", "text/plain")

    return Handler


class WebServer:
    """The static server on a background thread (tests, demo)."""

    def __init__(self, web_dir: Path, config: WebConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.httpd = ThreadingHTTPServer((host, port), make_handler(web_dir, config))
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="webserve", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> WebServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="identity.webserve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--web-dir", type=Path, default=Path("web"))
    parser.add_argument("--api-base-url", required=True, help="base URL of the admin API function")
    parser.add_argument("--sign-in-url", required=True, help="the local issuer's accounts:signInWithPassword URL")
    parser.add_argument("--project", default="spreadpilot-local")
    parser.add_argument("--auth-emulator-url", default="", help="the local issuer's base URL")
    parser.add_argument("--firestore-emulator-host", default="", help="host:port of the Firestore emulator")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    config = WebConfig(args.api_base_url, args.sign_in_url, args.project, args.auth_emulator_url,
                       args.firestore_emulator_host)
    server = WebServer(args.web_dir, config, args.host, args.port)
    log.info("web app on %s", server.base_url)
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
