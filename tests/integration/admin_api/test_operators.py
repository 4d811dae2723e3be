"""Operators from the app, through the served API and the local issuer's Identity Toolkit admin API (which checks the
admin API's service account against iam.tf, as Identity Platform does): an invited viewer signs in and reads, changes
nothing, and is locked out on the next request once disabled; every change is audited."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from admin_harness import AdminClient
from google.cloud import firestore

from iamcheck.accounts import account_email
from identity.testing import SessionServers
from stack.local_stack import LocalStack

PASSWORD = "Ch0sen-by-the-invitee"


def issuer_url(stack: LocalStack) -> str:
    return SessionServers.issuer_for(stack.project).base_url


def sent_codes(stack: LocalStack, email: str) -> list[dict[str, Any]]:
    """The invitation e-mails the issuer "sent" to ``email`` (as the Firebase Auth emulator lists them)."""
    url = f"{issuer_url(stack)}/emulator/v1/projects/{stack.project}/oobCodes"
    return [c for c in requests.get(url, timeout=10).json()["oobCodes"] if c["email"] == email]


def choose_password(stack: LocalStack, email: str, password: str = PASSWORD) -> requests.Response:
    [code] = sent_codes(stack, email)
    return requests.post(f"{issuer_url(stack)}/v1/accounts:resetPassword",
                         json={"oobCode": code["oobCode"], "newPassword": password}, timeout=10)


def sign_in(stack: LocalStack, email: str, password: str = PASSWORD) -> requests.Response:
    return requests.post(SessionServers.issuer_for(stack.project).sign_in_url,
                         json={"email": email, "password": password, "returnSecureToken": True}, timeout=10)


def invited(admin: AdminClient, stack: LocalStack, role: str = "viewer") -> tuple[str, str, AdminClient]:
    """Invite a fresh operator, let them choose a password and sign in: (email, uid, their client)."""
    email = f"op-{uuid.uuid4().hex[:8]}@example.com"
    response = admin.call("POST", "/operators", {"email": email, "role": role})
    assert response.status_code == 201, response.text
    assert choose_password(stack, email).status_code == 200
    signed = sign_in(stack, email)
    assert signed.status_code == 200, signed.text
    return email, response.json()["uid"], AdminClient(admin.base_url, admin.origin, signed.json()["idToken"])


def test_an_invited_viewer_chooses_a_password_signs_in_and_reads_but_changes_nothing(
    admin: AdminClient, clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    email, uid, viewer = invited(admin, clean_stack)

    me = viewer.call("GET", "/me").json()
    assert (me["email"], me["role"], me["can_change"]) == (email, "viewer", False)
    assert viewer.call("GET", "/followers").status_code == 200
    assert viewer.call("GET", "/gateways").status_code == 200
    assert viewer.call("POST", "/controls/pause", {"scope": "all"}).status_code == 403
    assert viewer.call("POST", "/operators", {"email": "x@example.com", "role": "admin"}).status_code == 403
    listed = {o["email"]: o for o in admin.call("GET", "/operators").json()["operators"]}
    assert (listed[email]["role"], listed[email]["disabled"], listed[email]["invited_by"]) == (
        "viewer", False, "admin@spreadpilot.local")
    audit = [snap.to_dict() for snap in firestore_db.collection("audit").stream()]
    invite = next(a for a in audit if a["action"] == "operator.invite")
    assert (invite["uid"], invite["role"], invite["actor"]) == (uid, "viewer", "admin@spreadpilot.local")


def test_an_invitation_link_works_once_and_no_password_means_no_sign_in(
    admin: AdminClient, clean_stack: LocalStack
) -> None:
    email = f"op-{uuid.uuid4().hex[:8]}@example.com"
    admin.call("POST", "/operators", {"email": email, "role": "viewer"})

    assert sign_in(clean_stack, email, "").status_code == 400  # invited: no password yet
    [code] = sent_codes(clean_stack, email)
    assert code["oobLink"].endswith(f"oobCode={code['oobCode']}")
    assert choose_password(clean_stack, email).status_code == 200
    again = requests.post(f"{issuer_url(clean_stack)}/v1/accounts:resetPassword",
                          json={"oobCode": code["oobCode"], "newPassword": "another-one"}, timeout=10)
    assert again.status_code == 400
    assert again.json()["error"]["message"] == "INVALID_OOB_CODE"


def test_a_disabled_operator_is_refused_on_the_next_request_and_can_neither_sign_in_nor_refresh(
    admin: AdminClient, clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    email, uid, viewer = invited(admin, clean_stack)
    refresh_token = sign_in(clean_stack, email).json()["refreshToken"]
    assert viewer.call("GET", "/followers").status_code == 200

    disabled = admin.call("PATCH", f"/operators/{uid}", {"disabled": True})

    assert disabled.status_code == 200
    assert disabled.json()["disabled"] is True
    locked_out = viewer.call("GET", "/followers")
    assert locked_out.status_code == 401  # the token is still unexpired: the operators' record refuses it
    assert "disabled" in locked_out.json()["error"]["message"]
    assert sign_in(clean_stack, email).json()["error"]["message"] == "USER_DISABLED"
    refreshed = requests.post(f"{issuer_url(clean_stack)}/securetoken.googleapis.com/v1/token",
                              data={"grant_type": "refresh_token", "refresh_token": refresh_token}, timeout=10)
    assert refreshed.json()["error"]["message"] == "USER_DISABLED"
    actions = [snap.to_dict()["action"] for snap in firestore_db.collection("audit").stream()]
    assert "operator.disable" in actions
    assert firestore_db.collection("revoked_operators").document(uid).get().exists  # the web app's reads stop too

    restored = admin.call("PATCH", f"/operators/{uid}", {"disabled": False})
    assert restored.status_code == 200
    assert sign_in(clean_stack, email).status_code == 200
    assert not firestore_db.collection("revoked_operators").document(uid).get().exists


def test_a_role_change_applies_on_the_next_request_not_when_the_token_expires(
    admin: AdminClient, clean_stack: LocalStack
) -> None:
    _, uid, operator = invited(admin, clean_stack)
    assert operator.call("POST", "/controls/resume", {"scope": "all"}).status_code == 403

    admin.call("PATCH", f"/operators/{uid}", {"role": "admin"})
    assert operator.call("GET", "/me").json()["role"] == "admin"
    assert operator.call("POST", "/controls/resume", {"scope": "all"}).status_code == 202  # accepted

    admin.call("PATCH", f"/operators/{uid}", {"role": "viewer"})
    assert operator.call("POST", "/controls/resume", {"scope": "all"}).status_code == 403


def test_an_admin_cannot_lock_themselves_out_and_an_existing_email_is_not_invited_twice(
    admin: AdminClient, clean_stack: LocalStack
) -> None:
    me = admin.call("GET", "/me").json()
    email, _, _ = invited(admin, clean_stack)

    own = admin.call("PATCH", f"/operators/{me['uid']}", {"disabled": True})
    twice = admin.call("POST", "/operators", {"email": email, "role": "admin"})

    assert own.status_code == 409
    assert "cannot disable or demote yourself" in own.json()["error"]["message"]
    assert twice.status_code == 409
    assert "has an account already" in twice.json()["error"]["message"]


@pytest.mark.parametrize(("identity", "status"), [(None, 401), ("telegram_bot", 403)])
def test_the_issuers_admin_api_refuses_a_caller_iam_tf_does_not_grant(
    clean_stack: LocalStack, identity: str | None, status: int
) -> None:
    headers = {"Authorization": f"Bearer {account_email(identity, clean_stack.project)}"} if identity else {}
    response = requests.post(f"{issuer_url(clean_stack)}/v1/projects/{clean_stack.project}/accounts",
                             json={"email": "intruder@example.com"}, headers=headers, timeout=10)
    assert response.status_code == status
    allowed = requests.get(f"{issuer_url(clean_stack)}/v1/projects/{clean_stack.project}/accounts:batchGet",
                           headers={"Authorization": f"Bearer {account_email('admin_api', clean_stack.project)}"},
                           timeout=10)
    assert allowed.status_code == 200
