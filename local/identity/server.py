"""The local issuer's HTTP server: certificates, and Identity Toolkit's password sign-in for local users.

Routes (the same paths Google serves, so only a base URL changes):
    GET  /robot/v1/metadata/x509/securetoken@system.gserviceaccount.com  → {kid: PEM certificate}
    POST /v1/accounts:signInWithPassword  {email, password, returnSecureToken}  → {idToken, localId, email, ...}
The same under the paths the Firebase Auth JS SDK uses with ``connectAuthEmulator(auth, base_url)``, so the web app
runs the real SDK (sign-in, profile lookup and the silent refresh of the ID token) against tokens signed RS256:
    POST /identitytoolkit.googleapis.com/v1/accounts:signInWithPassword
    POST /identitytoolkit.googleapis.com/v1/accounts:lookup  {idToken}  → {users: [...]}
    POST /securetoken.googleapis.com/v1/token  grant_type=refresh_token&refresh_token=R  → {id_token, ...}
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import jwt

from identity.keys import SigningKey, certificates_doc
from identity.tokens import mint_id_token

CERT_PATH = "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
SIGN_IN_PATH = "/v1/accounts:signInWithPassword"
SDK_SIGN_IN_PATH = "/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword"
SDK_LOOKUP_PATH = "/identitytoolkit.googleapis.com/v1/accounts:lookup"
SDK_REFRESH_PATH = "/securetoken.googleapis.com/v1/token"
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
                 key: SigningKey | None = None, token_lifetime_s: int = TOKEN_LIFETIME_S) -> None:
        self.project = project
        self.users = {user.email: user for user in users}
        self.key = key or SigningKey.generate(datetime.now(UTC))
        self.token_lifetime_s = token_lifetime_s
        self.cert_fetches = 0  # how often the certificates were served (tests count verifiers' fetches)
        self.refreshes = 0  # how often an ID token was refreshed (tests check the web app refreshes silently)
        self._refresh_tokens: dict[str, str] = {}  # refresh token → email
        self._lock = threading.Lock()

    def _mint(self, user: LocalUser, now: datetime) -> str:
        return mint_id_token(self.key, project=self.project, uid=user.uid, email=user.email, role=user.role,
                             issued_at=now, lifetime_s=self.token_lifetime_s)

    def _new_refresh_token(self, user: LocalUser) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._refresh_tokens[token] = user.email
        return token

    def refresh(self, refresh_token: str, now: datetime) -> dict[str, object]:
        """Secure Token's refresh response (a fresh ID token for the same user), or ValueError with its code."""
        with self._lock:
            email = self._refresh_tokens.get(refresh_token)
            self.refreshes += email is not None
        user = self.users.get(email or "")
        if user is None:
            raise ValueError("INVALID_REFRESH_TOKEN")
        return {"access_token": self._mint(user, now), "id_token": self._mint(user, now),
                "expires_in": str(self.token_lifetime_s), "token_type": "Bearer", "refresh_token": refresh_token,
                "user_id": user.uid, "project_id": self.project}

    def lookup(self, id_token: str) -> dict[str, object]:
        """Identity Toolkit's accounts:lookup of the user an ID token of ours names, or ValueError."""
        try:
            claims = jwt.decode(id_token, self.key.private_key.public_key(), algorithms=["RS256"],
                                audience=self.project, options={"verify_exp": False})
        except jwt.PyJWTError as exc:
            raise ValueError("INVALID_ID_TOKEN") from exc
        user = self.users.get(str(claims.get("email", "")))
        if user is None:
            raise ValueError("USER_NOT_FOUND")
        info = {"providerId": "password", "email": user.email, "federatedId": user.email, "rawId": user.email}
        return {"kind": "identitytoolkit#GetAccountInfoResponse", "users": [{
            "localId": user.uid, "email": user.email, "emailVerified": True, "providerUserInfo": [info],
            "passwordUpdatedAt": 0, "validSince": "0", "lastLoginAt": str(int(claims["iat"]) * 1000),
            "createdAt": "0", "customAttributes": json.dumps({"role": user.role} if user.role else {})}]}

    def sign_in(self, email: str, password: str, now: datetime) -> dict[str, object]:
        """Identity Toolkit's signInWithPassword response, or ValueError with its error code."""
        user = self.users.get(email.strip().lower())
        if user is None:
            raise ValueError("EMAIL_NOT_FOUND")
        if user.password != password:
            raise ValueError("INVALID_PASSWORD")
        return {"kind": "identitytoolkit#VerifyPasswordResponse", "localId": user.uid, "email": user.email,
                "displayName": "", "idToken": self._mint(user, now), "registered": True,
                "refreshToken": self._new_refresh_token(user), "expiresIn": str(self.token_lifetime_s)}


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
            self.send_header("Access-Control-Allow-Headers",
                             self.headers.get("Access-Control-Request-Headers") or "Content-Type")
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

        def _body(self) -> dict[str, object]:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
                return dict(parse_qsl(raw.decode()))
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("INVALID_ARGUMENT")
            return body

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            if path not in (SIGN_IN_PATH, SDK_SIGN_IN_PATH, SDK_LOOKUP_PATH, SDK_REFRESH_PATH):
                self._send(404, {"error": {"code": 404, "message": "NOT_FOUND"}})
                return
            try:
                body = self._body()
                now = datetime.now(UTC)
                if path == SDK_LOOKUP_PATH:
                    response = issuer.lookup(str(body.get("idToken", "")))
                elif path == SDK_REFRESH_PATH:
                    if body.get("grant_type") != "refresh_token":
                        raise ValueError("INVALID_GRANT_TYPE")
                    response = issuer.refresh(str(body.get("refresh_token", "")), now)
                else:
                    response = issuer.sign_in(str(body.get("email", "")), str(body.get("password", "")), now)
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

    @property
    def emulator_url(self) -> str:
        """What the web app gives ``connectAuthEmulator`` (the SDK appends Google's host names as paths)."""
        return self.base_url

    def __enter__(self) -> IssuerServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
