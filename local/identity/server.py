"""The local issuer's HTTP server: certificates, and Identity Toolkit's password sign-in for local users.

Routes (the same paths Google serves, so only a base URL changes):
    GET  /robot/v1/metadata/x509/securetoken@system.gserviceaccount.com  → {kid: PEM certificate}
    POST /v1/accounts:signInWithPassword  {email, password, returnSecureToken}  → {idToken, localId, email, ...}
The same under the paths the Firebase Auth JS SDK uses with ``connectAuthEmulator(auth, base_url)``, so the web app
runs the real SDK (sign-in, profile lookup and the silent refresh of the ID token) against tokens signed RS256:
    POST /identitytoolkit.googleapis.com/v1/accounts:signInWithPassword
    POST /identitytoolkit.googleapis.com/v1/accounts:lookup  {idToken}  → {users: [...]}
    POST /securetoken.googleapis.com/v1/token  grant_type=refresh_token&refresh_token=R  → {id_token, ...}
And Identity Toolkit's admin API for operators' accounts (create, look up, role claim, disable, invitation e-mail),
with iam.tf's permissions checked per caller: ``identity.admin``. A disabled user cannot sign in or refresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import jwt

from iamcheck.grants import Policy
from identity import admin
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
    password: str  # empty: invited, no password chosen yet
    role: str | None
    disabled: bool = False
    valid_since: float = 0.0  # tokens issued before this (epoch seconds) are revoked
    created_ms: float = 0.0
    last_login_ms: float = 0.0

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
                 key: SigningKey | None = None, token_lifetime_s: int = TOKEN_LIFETIME_S,
                 policy: Policy | None = None) -> None:
        self.project = project
        self.policy = policy  # iam.tf's grants for the admin API; None = every caller may manage accounts
        self.link_base = ""  # where the invitation links point (the server's base URL)
        self.oob_codes: list[admin.OobCode] = []
        self.users = {user.email: user for user in users}
        self.key = key or SigningKey.generate(datetime.now(UTC))
        self.token_lifetime_s = token_lifetime_s
        self.cert_fetches = 0  # how often the certificates were served (tests count verifiers' fetches)
        self.refreshes = 0  # how often an ID token was refreshed (tests check the web app refreshes silently)
        self._refresh_tokens: dict[str, str] = {}  # refresh token → email
        self._refresh_issued: dict[str, float] = {}  # refresh token → when it was issued (epoch seconds)
        self._lock = threading.RLock()

    @property
    def lock(self) -> threading.RLock:
        """Guards ``users`` (the admin API changes them while others sign in)."""
        return self._lock

    def create_user(self, email: str, now: datetime) -> LocalUser:
        """A new account without a password (Identity Toolkit's admin create), or ``EMAIL_EXISTS``."""
        email = email.strip().lower()
        if "@" not in email:
            raise admin.AdminError(400, "INVALID_EMAIL")
        with self._lock:
            if email in self.users:
                raise admin.AdminError(400, "EMAIL_EXISTS")
            user = LocalUser(email, "", None, created_ms=now.timestamp() * 1000)
            self.users[email] = user
        return user

    def send_password_reset(self, email: str) -> admin.OobCode:
        """"Send" the choose-a-password e-mail: a one-time code and its link, listed at the emulator path."""
        email = email.strip().lower()
        with self._lock:
            if email not in self.users:
                raise admin.AdminError(400, "EMAIL_NOT_FOUND")
            code = admin.new_code()
            sent = admin.OobCode(email, code, f"{self.link_base}{admin.ACTION_PATH}?mode=resetPassword&oobCode={code}",
                                 "PASSWORD_RESET")
            self.oob_codes.append(sent)
        return sent

    def use_oob_code(self, code: str) -> str:
        """The e-mail a code was sent to; the code is spent (``INVALID_OOB_CODE`` the second time)."""
        with self._lock:
            found = next((c for c in self.oob_codes if c.code == code), None)
            if found is None:
                raise admin.AdminError(400, "INVALID_OOB_CODE")
            self.oob_codes.remove(found)
            return found.email

    def _mint(self, user: LocalUser, now: datetime) -> str:
        return mint_id_token(self.key, project=self.project, uid=user.uid, email=user.email, role=user.role,
                             issued_at=now, lifetime_s=self.token_lifetime_s)

    def _new_refresh_token(self, user: LocalUser) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._refresh_tokens[token] = user.email
            self._refresh_issued[token] = datetime.now(UTC).timestamp()
        return token

    def refresh(self, refresh_token: str, now: datetime) -> dict[str, object]:
        """Secure Token's refresh response (a fresh ID token for the same user), or ValueError with its code."""
        with self._lock:
            email = self._refresh_tokens.get(refresh_token)
            self.refreshes += email is not None
        user = self.users.get(email or "")
        if user is None:
            raise ValueError("INVALID_REFRESH_TOKEN")
        if user.disabled:
            raise ValueError("USER_DISABLED")
        if self._refresh_issued.get(refresh_token, 0.0) < user.valid_since:
            raise ValueError("TOKEN_EXPIRED")  # revoked: an admin changed this operator's access since
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
        if user.disabled:
            raise ValueError("USER_DISABLED")
        info = {"providerId": "password", "email": user.email, "federatedId": user.email, "rawId": user.email}
        return {"kind": "identitytoolkit#GetAccountInfoResponse", "users": [{
            "localId": user.uid, "email": user.email, "emailVerified": True, "providerUserInfo": [info],
            "passwordUpdatedAt": 0, "validSince": str(int(user.valid_since)),
            "lastLoginAt": str(int(claims["iat"]) * 1000), "createdAt": str(int(user.created_ms)),
            "customAttributes": json.dumps({"role": user.role} if user.role else {})}]}

    def sign_in(self, email: str, password: str, now: datetime) -> dict[str, object]:
        """Identity Toolkit's signInWithPassword response, or ValueError with its error code."""
        user = self.users.get(email.strip().lower())
        if user is None:
            raise ValueError("EMAIL_NOT_FOUND")
        if not user.password or user.password != password:
            raise ValueError("INVALID_PASSWORD")
        if user.disabled:
            raise ValueError("USER_DISABLED")
        with self._lock:
            self.users[user.email] = replace(user, last_login_ms=now.timestamp() * 1000)
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

        def _send_html(self, text: str) -> None:
            data = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            if path == admin.OOB_PATH.format(project=issuer.project):
                with issuer.lock:
                    codes = [{"email": c.email, "oobCode": c.code, "oobLink": c.link, "requestType": c.request_type}
                             for c in issuer.oob_codes]
                self._send(200, {"oobCodes": codes})
                return
            if path == admin.ACTION_PATH:
                self._send_html(admin.action_page(dict(parse_qsl(query)).get("oobCode", "")))
                return
            if path == "/v1/projects/" + issuer.project + "/accounts:batchGet":
                self._admin("batchGet", {})
                return
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

        def _admin(self, method: str, body: dict[str, object]) -> None:
            try:
                admin.authorize(issuer, method, self.headers.get("Authorization"))
                self._send(200, admin.handle(issuer, method, body, datetime.now(UTC)))
            except admin.AdminError as exc:
                self._send(exc.status, exc.body())

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            method = admin.route(path, issuer.project)
            if method is not None or path in admin.RESET_PATHS:
                try:
                    body = self._body()
                except ValueError:
                    self._send(400, admin.AdminError(400, "INVALID_ARGUMENT").body())
                    return
                if method is not None:
                    self._admin(method, body)
                    return
                try:
                    self._send(200, admin.reset_password(issuer, body))
                except admin.AdminError as exc:
                    self._send(exc.status, exc.body())
                return
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
        issuer.link_base = self.base_url
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
