"""Identity Platform's admin REST API (Identity Toolkit v1): the operators' sign-in accounts.

Calls, and the IAM permission each needs on the project (granted by iam.tf's custom role ``operatorAdmin``):

    GET  /v1/projects/{p}/accounts:batchGet     list accounts              firebaseauth.users.get
    POST /v1/projects/{p}/accounts:lookup       one account (uid, email)   firebaseauth.users.get
    POST /v1/projects/{p}/accounts              create an account          firebaseauth.users.create
    POST /v1/projects/{p}/accounts:update       role claim, disable        firebaseauth.users.update
    POST /v1/projects/{p}/accounts:sendOobCode  the invitation e-mail      firebaseauth.users.sendEmail

The role is the custom claim ``role`` (``customAttributes``), as ``admin_api.auth`` reads it from ID tokens.

Seam: with ``IDENTITY_TOOLKIT_API_URL`` set (local stack only) requests go to the local issuer (``local/identity``)
instead of Google, carrying ``LOCAL_IDENTITY`` as the bearer token, which the issuer checks against iam.tf's
grants as Google checks the function's access token.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import requests
from google.api_core.exceptions import GoogleAPICallError, from_http_status

IDENTITY_TOOLKIT_API_ENV = "IDENTITY_TOOLKIT_API_URL"
IDENTITY_ENV = "LOCAL_IDENTITY"
GOOGLE_IDENTITY_TOOLKIT = "https://identitytoolkit.googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
TIMEOUT_S = 20.0
PAGE = 1000


class EmailExists(Exception):
    """An account with this e-mail exists already."""


@dataclass(frozen=True)
class Account:
    """One Identity Platform account, as the API shows an operator."""

    uid: str
    email: str
    role: str | None
    disabled: bool
    created_at: datetime | None = None
    last_sign_in: datetime | None = None

    @classmethod
    def from_user(cls, user: dict[str, Any]) -> Account:
        """From Identity Toolkit's ``UserInfo`` JSON."""
        try:
            claims = json.loads(user.get("customAttributes") or "{}")
        except ValueError:
            claims = {}
        role = claims.get("role") if isinstance(claims, dict) else None
        return cls(uid=str(user["localId"]), email=str(user.get("email", "")), role=role if isinstance(role, str)
                   else None, disabled=bool(user.get("disabled", False)), created_at=_millis(user.get("createdAt")),
                   last_sign_in=_millis(user.get("lastLoginAt")))


class OperatorDirectory(Protocol):
    """The operators' sign-in accounts (``IdentityPlatform``; an in-memory directory in unit tests)."""

    def accounts(self) -> list[Account]:
        """Every account."""
        ...

    def get(self, uid: str) -> Account | None:
        """The account with ``uid``, or None."""
        ...

    def find(self, email: str) -> Account | None:
        """The account with ``email``, or None."""
        ...

    def create(self, email: str) -> Account:
        """A new account without a password; ``EmailExists`` if there is one."""
        ...

    def update(self, uid: str, *, role: str | None = None, disabled: bool | None = None,
               revoke_at: datetime | None = None) -> None:
        """Set the role claim and/or the disabled flag; revoke tokens issued before ``revoke_at``."""
        ...

    def send_invitation(self, email: str) -> None:
        """E-mail a link to choose a password."""
        ...


def _millis(value: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(value)) / 1000, UTC) if value else None
    except ValueError:
        return None


class IdentityPlatform:
    """Operators' accounts in the project's Identity Platform, through an authorized session."""

    def __init__(self, project: str, session: Callable[[], requests.Session],
                 base_url: str = GOOGLE_IDENTITY_TOOLKIT) -> None:
        self.project = project
        self._make_session = session
        self._session: requests.Session | None = None
        self.base = f"{base_url.rstrip('/')}/v1/projects/{project}"

    @property
    def session(self) -> requests.Session:
        """The authorized session, made on first use (credentials are looked up only when an admin acts)."""
        if self._session is None:
            self._session = self._make_session()
        return self._session

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              params: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.session.request(method, self.base + path, json=body, params=params, timeout=TIMEOUT_S)
        if response.ok:
            return dict(response.json() or {})
        error = (response.json() if response.content else {}).get("error", {})
        message = str(error.get("message") or response.reason)
        if message.startswith("EMAIL_EXISTS") or message.startswith("DUPLICATE_EMAIL"):
            raise EmailExists(message)
        exc: GoogleAPICallError = from_http_status(  # type: ignore[no-untyped-call]  # google-api-core is untyped
            response.status_code, f"Identity Platform: {message}")
        raise exc

    def accounts(self) -> list[Account]:
        """Every account of the project (paged)."""
        found: list[Account] = []
        token = ""
        while True:
            params = {"maxResults": str(PAGE), **({"nextPageToken": token} if token else {})}
            page = self._call("GET", "/accounts:batchGet", params=params)
            found.extend(Account.from_user(u) for u in page.get("users", []))
            token = str(page.get("nextPageToken") or "")
            if not token:
                return found

    def _lookup(self, **key: list[str]) -> Account | None:
        users = self._call("POST", "/accounts:lookup", key).get("users", [])
        return Account.from_user(users[0]) if users else None

    def get(self, uid: str) -> Account | None:
        """The account with ``uid``, or None."""
        return self._lookup(localId=[uid])

    def find(self, email: str) -> Account | None:
        """The account with ``email``, or None."""
        return self._lookup(email=[email])

    def create(self, email: str) -> Account:
        """A new account without a password (the invitation sets it); ``EmailExists`` if there is one."""
        created = self._call("POST", "/accounts", {"email": email, "emailVerified": False})
        return Account(uid=str(created["localId"]), email=email, role=None, disabled=False)

    def update(self, uid: str, *, role: str | None = None, disabled: bool | None = None,
               revoke_at: datetime | None = None) -> None:
        """Set the role claim and/or the disabled flag; ``revoke_at`` invalidates tokens issued before it."""
        body: dict[str, Any] = {"localId": uid}
        if role is not None:
            body["customAttributes"] = json.dumps({"role": role})
        if disabled is not None:
            body["disableUser"] = disabled
        if revoke_at is not None:
            body["validSince"] = str(int(revoke_at.timestamp()))
        self._call("POST", "/accounts:update", body)

    def send_invitation(self, email: str) -> None:
        """Identity Platform e-mails ``email`` a link to choose a password (its password-reset e-mail)."""
        self._call("POST", "/accounts:sendOobCode", {"requestType": "PASSWORD_RESET", "email": email})


class _LocalSession(requests.Session):
    """Requests to the local issuer, with this process's local identity as the bearer token."""

    def __init__(self, identity: str) -> None:
        super().__init__()
        if identity:
            self.headers["Authorization"] = f"Bearer {identity}"


def identity_platform(project: str) -> IdentityPlatform:
    """Google's Identity Toolkit with the function's credentials, or the local issuer when the seam is set."""
    local = os.environ.get(IDENTITY_TOOLKIT_API_ENV)
    if local:
        identity = os.environ.get(IDENTITY_ENV, "")
        return IdentityPlatform(project, lambda: _LocalSession(identity), local)
    return IdentityPlatform(project, _google_session)


def _google_session() -> requests.Session:
    import google.auth  # imported here: only production calls Google with the service account's credentials
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(scopes=list(SCOPES))
    return AuthorizedSession(credentials)  # type: ignore[no-untyped-call]  # google-auth is untyped here
