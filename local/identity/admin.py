"""Identity Toolkit's admin API on the local issuer: operators' accounts managed as Identity Platform manages them.

Routes (Google's paths, so only the base URL differs; ``{p}`` is the issuer's project):

    GET  /v1/projects/{p}/accounts:batchGet            firebaseauth.users.get
    POST /v1/projects/{p}/accounts:lookup              firebaseauth.users.get     {localId: [...]} or {email: [...]}
    POST /v1/projects/{p}/accounts                     firebaseauth.users.create  {email} → {localId}; EMAIL_EXISTS
    POST /v1/projects/{p}/accounts:update              firebaseauth.users.update  {localId, customAttributes,
                                                                                   disableUser, validSince}
    POST /v1/projects/{p}/accounts:sendOobCode         firebaseauth.users.sendEmail  {requestType: PASSWORD_RESET}
    POST /v1/accounts:resetPassword                    (public: the link's page)  {oobCode, newPassword}
    GET  /emulator/v1/projects/{p}/oobCodes            the e-mails "sent" (as the Firebase Auth emulator lists them)
    GET  /__/auth/action?mode=resetPassword&oobCode=C  the page the e-mail links to (Firebase's hosted action page)

Admin calls need ``Authorization: Bearer <identity>`` (the caller's ``LOCAL_IDENTITY``) holding the permission in
iam.tf's grants, checked with the same ``iamcheck.grants.Policy`` as the Secret Manager fake: 401 without it, 403
(``PERMISSION_DENIED``) without the grant, as Google answers.
"""

from __future__ import annotations

import html
import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from iamcheck.grants import PROJECT, Resource

if TYPE_CHECKING:
    from identity.server import Issuer, LocalUser

OOB_PATH = "/emulator/v1/projects/{project}/oobCodes"
RESET_PATHS = ("/v1/accounts:resetPassword", "/identitytoolkit.googleapis.com/v1/accounts:resetPassword")
ACTION_PATH = "/__/auth/action"
PERMISSIONS = {"": "firebaseauth.users.create", "update": "firebaseauth.users.update",
               "lookup": "firebaseauth.users.get", "batchGet": "firebaseauth.users.get",
               "sendOobCode": "firebaseauth.users.sendEmail"}
MIN_PASSWORD = 6


class AdminError(Exception):
    """An Identity Toolkit error: HTTP status and its message code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, object]:
        status = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}
        return {"error": {"code": self.status, "message": self.message, "status": status.get(self.status, ""),
                          "errors": [{"message": self.message}]}}


@dataclass(frozen=True)
class OobCode:
    """One "e-mail" with a code: who it went to and the link it carries."""

    email: str
    code: str
    link: str
    request_type: str


def user_info(user: LocalUser) -> dict[str, object]:
    """A user as Identity Toolkit's ``UserInfo`` JSON."""
    info = {"localId": user.uid, "email": user.email, "emailVerified": True, "disabled": user.disabled,
            "validSince": str(int(user.valid_since)), "createdAt": str(int(user.created_ms)),
            "customAttributes": json.dumps({"role": user.role} if user.role else {}),
            "providerUserInfo": [{"providerId": "password", "email": user.email, "rawId": user.email}]}
    if user.last_login_ms:
        info["lastLoginAt"] = str(int(user.last_login_ms))
    return info


def route(path: str, project: str) -> str | None:
    """The admin method a path names (``""`` for create), or None if it is not an admin path."""
    base = f"/v1/projects/{project}/accounts"
    if path == base:
        return ""
    if path.startswith(base + ":"):
        method = path[len(base) + 1:]
        return method if method in PERMISSIONS else None
    return None


def authorize(issuer: Issuer, method: str, authorization: str | None) -> None:
    """Refuse a caller without credentials (401) or without the method's permission (403)."""
    if issuer.policy is None:
        return
    if not authorization or not authorization.startswith("Bearer ") or not authorization[7:].strip():
        raise AdminError(401, "UNAUTHENTICATED: Request is missing required authentication credential.")
    identity = authorization[7:].strip()
    permission = PERMISSIONS[method]
    if not issuer.policy.allows(identity, permission, Resource(PROJECT)):
        raise AdminError(403, f"PERMISSION_DENIED: Permission '{permission}' denied on project {issuer.project}")


def handle(issuer: Issuer, method: str, body: dict[str, Any], now: datetime) -> dict[str, object]:
    """One admin call (already authorized)."""
    if method == "batchGet":
        with issuer.lock:
            return {"kind": "identitytoolkit#DownloadAccountResponse",
                    "users": [user_info(u) for u in sorted(issuer.users.values(), key=lambda u: u.email)]}
    if method == "lookup":
        uids = set(body.get("localId") or [])
        emails = {str(e).lower() for e in body.get("email") or []}
        with issuer.lock:
            found = [u for u in issuer.users.values() if u.uid in uids or u.email in emails]
        return {"kind": "identitytoolkit#GetAccountInfoResponse", "users": [user_info(u) for u in found]} \
            if found else {"kind": "identitytoolkit#GetAccountInfoResponse"}
    if method == "":
        return {"localId": issuer.create_user(str(body.get("email", "")), now).uid,
                "email": str(body.get("email", "")).lower()}
    if method == "update":
        return _update(issuer, body)
    if method == "sendOobCode":
        if body.get("requestType") != "PASSWORD_RESET":
            raise AdminError(400, "INVALID_REQ_TYPE")
        issuer.send_password_reset(str(body.get("email", "")))
        return {"kind": "identitytoolkit#GetOobConfirmationCodeResponse", "email": str(body.get("email", ""))}
    raise AdminError(404, "NOT_FOUND")


def _update(issuer: Issuer, body: dict[str, Any]) -> dict[str, object]:
    uid = str(body.get("localId", ""))
    with issuer.lock:
        user = next((u for u in issuer.users.values() if u.uid == uid), None)
        if user is None:
            raise AdminError(400, "USER_NOT_FOUND")
        changed = user
        if "customAttributes" in body:
            try:
                claims = json.loads(str(body["customAttributes"]) or "{}")
            except ValueError as exc:
                raise AdminError(400, "INVALID_CLAIMS") from exc
            if not isinstance(claims, dict):
                raise AdminError(400, "INVALID_CLAIMS")
            role = claims.get("role")
            changed = replace(changed, role=role if isinstance(role, str) else None)
        if "disableUser" in body:
            changed = replace(changed, disabled=bool(body["disableUser"]))
        if "validSince" in body:
            changed = replace(changed, valid_since=float(str(body["validSince"])))
        issuer.users[user.email] = changed
    return {"kind": "identitytoolkit#SetAccountInfoResponse", "localId": uid, "email": changed.email}


def new_code() -> str:
    return secrets.token_urlsafe(24)


def reset_password(issuer: Issuer, body: dict[str, Any]) -> dict[str, object]:
    """The invitee chooses a password with the code from the e-mail (the code works once)."""
    code = str(body.get("oobCode", ""))
    password = str(body.get("newPassword", ""))
    if len(password) < MIN_PASSWORD:
        raise AdminError(400, "WEAK_PASSWORD : Password should be at least 6 characters")
    email = issuer.use_oob_code(code)
    with issuer.lock:
        issuer.users[email] = replace(issuer.users[email], password=password)
    return {"kind": "identitytoolkit#ResetPasswordResponse", "email": email, "requestType": "PASSWORD_RESET"}


def action_page(code: str) -> str:
    """The page an invitation links to: choose a password (what Firebase's hosted action page does)."""
    quoted = html.escape(code, quote=True)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Choose a password</title></head>
<body><h1>Choose your SpreadPilot password</h1>
<form id="reset-form"><input type="hidden" id="oob" value="{quoted}">
<label>New password <input type="password" id="new-password" autocomplete="new-password" required></label>
<button type="submit">Save</button></form><p id="reset-result"></p>
<script>
document.getElementById('reset-form').addEventListener('submit', async (event) => {{
  event.preventDefault();
  const response = await fetch('{RESET_PATHS[0]}', {{method: 'POST', headers: {{'Content-Type': 'application/json'}},
    body: JSON.stringify({{oobCode: document.getElementById('oob').value,
                          newPassword: document.getElementById('new-password').value}})}});
  const body = await response.json();
  document.getElementById('reset-result').textContent = response.ok
    ? 'Password saved: you can sign in now.' : 'Could not save: ' + body.error.message;
}});
</script></body></html>"""
