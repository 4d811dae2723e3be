"""Operators from the app: an admin invites an operator by e-mail with a role, changes the role, disables access.

Accounts live in Identity Platform (``admin_api.identity_platform``; the local issuer on the stack); the role is
the account's custom claim ``role``. Every change is also recorded in ``operators/{uid}`` and audited: ID tokens
carry the role they were issued with for up to an hour, so the API trusts the record over the token
(``OperatorVerifier``): a disabled operator is refused on the very next request, a changed role applies at once;
``revoked_operators/{uid}`` exists while one is disabled, and Firestore's rules refuse the web app's reads for it.
An admin cannot disable or demote themselves (the last admin would lock everyone out).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from admin_api.auth import AuthError, Principal, Role, TokenVerifier
from admin_api.deps import Deps, Route
from admin_api.http import ApiError, ApiResponse, Call, not_found
from admin_api.identity_platform import Account, EmailExists, OperatorDirectory
from spreadpilot.store import Store

log = logging.getLogger("admin_api.operators")

OPERATORS = "operators"
REVOKED = "revoked_operators"  # {uid}: present while disabled; Firestore rules refuse the web app's reads for it
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class OperatorInvite(BaseModel):
    """Invite someone by e-mail: an account with this role, and an e-mail to choose a password."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str = Field(pattern=_EMAIL, max_length=254)
    role: Role


class OperatorChange(BaseModel):
    """Change an operator's role and/or disable (or re-enable) their access."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    disabled: bool | None = None


def record(store: Store, uid: str) -> dict[str, Any] | None:
    """The API's record of an operator it manages, or None (an account made by hand: its token decides)."""
    snap = store.db.collection(OPERATORS).document(uid).get()
    return snap.to_dict() if snap.exists else None


class OperatorVerifier:
    """``TokenVerifier.verify``, then ``operators/{uid}``: disabled → 401, a changed role replaces the token's."""

    def __init__(self, tokens: TokenVerifier, store: Store) -> None:
        self.tokens = tokens
        self.store = store

    def verify(self, token: str, now: datetime) -> Principal:
        """The principal of a valid token, as the operators' records say it is now."""
        principal = self.tokens.verify(token, now)
        found = record(self.store, principal.uid)
        if found is None:
            return principal
        if found.get("disabled"):
            raise AuthError(401, "this operator's access has been disabled by an admin")
        role = found.get("role")
        if role in {r.value for r in Role} and role != principal.role:
            return Principal(uid=principal.uid, email=principal.email, role=Role(role))
        return principal


def operator_view(account: Account, saved: Mapping[str, Any] | None) -> dict[str, object]:
    """An operator as the API shows it."""
    role = (saved or {}).get("role") or account.role
    return {"uid": account.uid, "email": account.email, "role": role,
            "disabled": bool((saved or {}).get("disabled", account.disabled)),
            "created_at": account.created_at.isoformat() if account.created_at else None,
            "last_sign_in": account.last_sign_in.isoformat() if account.last_sign_in else None,
            "invited_by": (saved or {}).get("invited_by"), "updated_by": (saved or {}).get("updated_by")}


def _save(deps: Deps, account: Account, call: Call, **fields: object) -> dict[str, Any]:
    doc = {"uid": account.uid, "email": account.email, "updated_by": call.principal.actor,
           "updated_at": call.now.isoformat(), **fields}
    deps.store.db.collection(OPERATORS).document(account.uid).set(doc, merge=True)
    return record(deps.store, account.uid) or doc


def _directory(deps: Deps) -> OperatorDirectory:
    if deps.directory is None:
        raise ApiError(503, "operator management is not configured", where="directory")
    return deps.directory


def list_operators(deps: Deps, call: Call) -> object:
    accounts = sorted(_directory(deps).accounts(), key=lambda a: a.email)
    refs = [deps.store.db.collection(OPERATORS).document(a.uid) for a in accounts]
    saved = {s.id: s.to_dict() or {} for s in deps.store.db.get_all(refs) if s.exists} if refs else {}
    return {"operators": [operator_view(a, saved.get(a.uid)) for a in accounts]}


def invite_operator(deps: Deps, call: Call) -> object:
    body = call.body(OperatorInvite)
    email = body.email.lower()
    directory = _directory(deps)
    try:
        account = directory.create(email)
    except EmailExists as exc:
        raise ApiError(409, f"{email} has an account already; change its role instead", where="body.email") from exc
    directory.update(account.uid, role=str(body.role))
    directory.send_invitation(email)
    saved = _save(deps, account, call, role=str(body.role), disabled=False, invited_by=call.principal.actor,
                  invited_at=call.now.isoformat())
    deps.store.audit("operator.invite", actor=call.principal.actor, source="web", at=call.now.isoformat(),
                     uid=account.uid, email=email, role=str(body.role))
    log.info("operator invited", extra={"uid": account.uid, "role": str(body.role), "actor": call.principal.actor})
    return ApiResponse(201, operator_view(Account(account.uid, email, str(body.role), False), saved))


def change_operator(deps: Deps, call: Call) -> object:
    uid = call.param("uid")
    body = call.body(OperatorChange)
    if body.role is None and body.disabled is None:
        raise ApiError(400, "give role and/or disabled", where="body")
    if uid == call.principal.uid and (body.disabled or (body.role is not None and body.role is not Role.ADMIN)):
        raise ApiError(409, "you cannot disable or demote yourself; ask another admin", where="path")
    directory = _directory(deps)
    account = directory.get(uid)
    if account is None:
        raise not_found("operator", uid)
    # Revoke tokens issued so far when access shrinks, so no refreshed token carries the old role.
    shrinks = bool(body.disabled) or body.role is Role.VIEWER
    directory.update(uid, role=str(body.role) if body.role else None, disabled=body.disabled,
                     revoke_at=call.wall if shrinks else None)
    fields: dict[str, object] = {}
    if body.role is not None:
        fields["role"] = str(body.role)
    if body.disabled is not None:
        fields["disabled"] = body.disabled
    saved = _save(deps, account, call, **fields)
    if body.disabled is not None:
        revoked = deps.store.db.collection(REVOKED).document(uid)
        if body.disabled:
            revoked.set({"uid": uid, "at": call.now.isoformat(), "by": call.principal.actor})
        else:
            revoked.delete()
    action = "operator.disable" if body.disabled else "operator.enable" if body.disabled is False else "operator.role"
    deps.store.audit(action, actor=call.principal.actor, source="web", at=call.now.isoformat(), uid=uid,
                     email=account.email, **{k: v for k, v in fields.items()})
    log.info(action, extra={"uid": uid, "actor": call.principal.actor, **fields})
    return operator_view(account, saved)


ROUTES = [
    Route("GET", "/operators", list_operators, "Operators (sign-in accounts) with role and access"),
    Route("POST", "/operators", invite_operator, "Invite an operator by e-mail with a role", changes=True,
          body="OperatorInvite"),
    Route("PATCH", "/operators/{uid}", change_operator, "Change an operator's role or disable their access",
          changes=True, body="OperatorChange"),
]
