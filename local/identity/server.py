"""The local issuer's HTTP server: certificates, and Identity Toolkit's password sign-in for local users.

Routes (the same paths Google serves, so only a base URL changes):
    GET  /robot/v1/metadata/x509/securetoken@system.gserviceaccount.com  → {kid: PEM certificate}
    POST /v1/accounts:signInWithPassword  {email, password, returnSecureToken}  → {idToken, localId, email, ...}
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from identity.keys import SigningKey, certificates_doc
from identity.tokens import mint_id_token

CERT_PATH = "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
SIGN_IN_PATH = "/v1/accounts:signInWithPassword"
CERT_MAX_AGE_S = 3600
TOKEN_LIFETIME_S = 3600
# Local test users only; these never exist outside the local stack.
LOCAL_PASSWORD = "spreadpilot-local"
log = logging.getLogger("identity")


@dataclass(frozen=True)
class LocalUser:
    email: str
    password: str
    role: str | None

    @property
    def uid(self) -> str:
        return hashlib.sha256(self.email.encode()).hexdigest()[:28]


DEFAULT_USERS = (
    LocalUser("admin@spreadpilot.local", LOCAL_PASSWORD, "admin"),
    LocalUser("viewer@spreadpilot.local", LOCAL_PASSWORD, "viewer"),
    LocalUser("norole@spreadpilot.local", LOCAL_PASSWORD, None),
)


def parse_users(spec: str) -> tuple[LocalUser, ...]:
    """``email:role:password,...`` (role ``-`` = none) → users."""
    users = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        email, role, password = item.split(":", 2)
        users.append(LocalUser(email.lower(), password, None if role == "-" else role))
    return tuple(users)


class Issuer:
    """The issuer's state: project, key and users."""

    def __init__(self, project: str, users: tuple[LocalUser, ...] = DEFAULT_USERS,
                 key: SigningKey | None = None) -> None:
        self.project = project
        self.users = {user.email: user for user in users}
        self.key = key or SigningKey.generate(datetime.now(UTC))
        self.cert_fetches = 0  # how often the certificates were served (tests count verifiers' fetches)

    def sign_in(self, email: str, password: str, now: datetime) -> dict[str, object]:
        """Identity Toolkit's signInWithPassword response, or ValueError with its error code."""
        user = self.users.get(email.strip().lower())
        if user is None:
            raise ValueError("EMAIL_NOT_FOUND")
        if user.password != password:
            raise ValueError("INVALID_PASSWORD")
        token = mint_id_token(self.key, project=self.project, uid=user.uid, email=user.email, role=user.role,
                              issued_at=now, lifetime_s=TOKEN_LIFETIME_S)
        return {"kind": "identitytoolkit#VerifyPasswordResponse", "localId": user.uid, "email": user.email,
                "displayName": "", "idToken": token, "registered": True, "refreshToken": "",
                "expiresIn": str(TOKEN_LIFETIME_S)}


def make_handler(issuer: Issuer) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to ``issuer``."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            log.debug(format, *args)

        def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            # The local web app signs in from another port; the local issuer answers any origin.
            self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_OPTIONS(self) -> None:
            self._send(204, {})

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] == CERT_PATH:
                issuer.cert_fetches += 1
                self._send(200, certificates_doc([issuer.key]),
                           {"Cache-Control": f"public, max-age={CERT_MAX_AGE_S}, must-revalidate, no-transform"})
            elif self.path == "/healthz":
                self._send(200, {"ok": True})
            else:
                self._send(404, {"error": {"code": 404, "message": "NOT_FOUND"}})

        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != SIGN_IN_PATH:
                self._send(404, {"error": {"code": 404, "message": "NOT_FOUND"}})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                response = issuer.sign_in(str(body.get("email", "")), str(body.get("password", "")),
                                          datetime.now(UTC))
            except (ValueError, AttributeError) as exc:
                code = str(exc) if str(exc).isupper() else "INVALID_ARGUMENT"
                self._send(400, {"error": {"code": 400, "message": code, "errors": [{"message": code}]}})
                return
            self._send(200, response)

    return Handler


class IssuerServer:
    """The issuer served on a background thread (for tests and the demo)."""

    def __init__(self, issuer: Issuer, host: str = "127.0.0.1", port: int = 0) -> None:
        self.issuer = issuer
        self.httpd = ThreadingHTTPServer((host, port), make_handler(issuer))
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="identity", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def cert_url(self) -> str:
        return self.base_url + CERT_PATH

    @property
    def sign_in_url(self) -> str:
        return self.base_url + SIGN_IN_PATH

    def __enter__(self) -> IssuerServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
